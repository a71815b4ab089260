#pragma once
// Ctrl-C and `docker stop`: SIGINT and SIGTERM set a flag that long-running work polls (transfers,
// builds' processes, bytecode workers, the environment lock's wait) and stops at, instead of
// killing strata where it stands. The commit of an install does not poll it: a commit that began
// finishes, so an interrupted install leaves the environment as it was or complete.

#include <string>

#include "util/error.hpp"

namespace strata::util {

/// Catches SIGINT and SIGTERM from now on (idempotent): each sets the flag and nothing else, so a
/// second Ctrl-C while strata rolls back cannot cut the rollback short. Only commands that poll
/// the flag install it.
void catch_interrupts();

/// Whether SIGINT or SIGTERM arrived since catch_interrupts().
bool interrupted();

/// The signal that arrived first (SIGINT or SIGTERM), or 0.
int interrupt_signal();

/// "interrupted (SIGINT)" and the like, for errors raised because of an interrupt.
std::string interrupt_message();

/// An error when interrupted: how polling code stops.
Result<void> check_interrupted();

/// Tests only: sets or clears the flag as a signal would.
void set_interrupted_for_testing(int signal);

}  // namespace strata::util
