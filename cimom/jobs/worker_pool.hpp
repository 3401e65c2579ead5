#pragma once
// A fixed set of worker threads draining a bounded FIFO of tasks: jobs never get a thread each,
// so a burst of requests queues instead of exhausting the machine.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vsnapd::cim::jobs {

class worker_pool {
 public:
  /// Starts `threads` workers (at least one); at most `max_queued` tasks wait at a time.
  worker_pool(std::size_t threads, std::size_t max_queued);
  /// Calls stop().
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Queues a task. @return false when the queue is full or the pool is stopping.
  /// Thread-safe.
  bool post(std::function<void()> task);
  /// Refuses new tasks, discards queued ones that have not started, and joins the workers
  /// (running tasks finish first). Idempotent; must not be called from a worker.
  /// @return the number of discarded tasks.
  std::size_t stop();
  std::size_t thread_count() const { return threads_.size(); }

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::size_t max_queued_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vsnapd::cim::jobs
