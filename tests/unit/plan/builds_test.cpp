#include "plan/builds.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

namespace strata::plan {
namespace {

using namespace std::chrono_literals;

TEST(ReadyScheduler, RunsTheLargestReadyItemFirst) {
  std::mutex mutex;
  std::vector<std::size_t> order;
  {
    ReadyScheduler scheduler({10, 30, 20, 30}, 1, {0, 1, 2, 3}, [&](std::size_t i) {
      std::lock_guard lock(mutex);
      order.push_back(i);
    });
    scheduler.wait();
  }
  EXPECT_EQ(order, (std::vector<std::size_t>{1, 3, 2, 0}));  // ties: the lower index
}

TEST(ReadyScheduler, StartsAnItemOnlyOnceReadyAndWhileOthersAreStillAwaited) {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::size_t> ran;
  ReadyScheduler scheduler({1, 1, 1}, 2, {2}, [&](std::size_t i) {
    {
      std::lock_guard lock(mutex);
      ran.push_back(i);
    }
    changed.notify_all();
  });
  {
    // Item 2 runs although items 0 and 1 are not ready yet (a build while downloads go on).
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, 10s, [&] { return ran.size() == 1; }));
    EXPECT_EQ(ran, std::vector<std::size_t>{2});
  }
  scheduler.ready(1, 5);  // the size given on arrival
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, 10s, [&] { return ran.size() == 2; }));
    EXPECT_EQ(ran.back(), 1u);
  }
  scheduler.ready(1);  // twice: runs once
  scheduler.ready(0);
  scheduler.wait();
  std::sort(ran.begin(), ran.end());
  EXPECT_EQ(ran, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(ReadyScheduler, RunsAtMostThreadsItemsAtOnceAndThatManyTogether) {
  std::mutex mutex;
  std::condition_variable changed;
  int running = 0, most = 0;
  ReadyScheduler scheduler({1, 2, 3, 4, 5}, 2, {0, 1, 2, 3, 4}, [&](std::size_t) {
    std::unique_lock lock(mutex);
    most = std::max(most, ++running);
    changed.notify_all();
    // Each item waits (bounded) for a second one to run beside it: with one worker it would not.
    changed.wait_for(lock, 10s, [&] { return most >= 2; });
    --running;
  });
  scheduler.wait();
  EXPECT_EQ(most, 2);
}

TEST(ReadyScheduler, CancelStartsNothingMoreAndWaitReturns) {
  std::vector<std::size_t> ran;
  std::mutex mutex;
  ReadyScheduler scheduler({1, 1}, 1, {}, [&](std::size_t i) {
    std::lock_guard lock(mutex);
    ran.push_back(i);
  });
  scheduler.cancel();
  scheduler.ready(0);
  scheduler.wait();  // item 1 is never made ready: wait() returns all the same
  EXPECT_TRUE(ran.empty());
}

}  // namespace
}  // namespace strata::plan
