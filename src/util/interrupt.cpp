#include "util/interrupt.hpp"

#include <signal.h>

#include <atomic>
#include <cstring>

#include <fmt/format.h>

namespace strata::util {
namespace {

std::atomic<int> g_signal{0};  // lock-free: written from the signal handler
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_interrupt(int signal) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, signal);
}

}  // namespace

void catch_interrupts() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  // Restarted system calls: code that does not poll the flag keeps working, unaware of EINTR.
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

bool interrupted() { return g_signal.load(std::memory_order_relaxed) != 0; }

int interrupt_signal() { return g_signal.load(std::memory_order_relaxed); }

std::string interrupt_message() {
  const int signal = interrupt_signal();
  return fmt::format("interrupted ({})", signal == SIGTERM ? "SIGTERM" : "SIGINT");
}

Result<void> check_interrupted() {
  if (interrupted()) return fail(ErrorKind::runtime, interrupt_message());
  return {};
}

void set_interrupted_for_testing(int signal) { g_signal.store(signal); }

}  // namespace strata::util
