#include "cimom/jobs/worker_pool.hpp"

namespace vsnapd::cim::jobs {

worker_pool::worker_pool(std::size_t threads, std::size_t max_queued)
    : max_queued_(max_queued == 0 ? 1 : max_queued) {
  const std::size_t n = threads == 0 ? 1 : threads;
  threads_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

worker_pool::~worker_pool() { (void)stop(); }

bool worker_pool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= max_queued_) {
      return false;
    }
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

std::size_t worker_pool::stop() {
  std::size_t discarded = 0;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    discarded = queue_.size();
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  return discarded;
}

void worker_pool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping and nothing left (stop() cleared the queue)
      }
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace vsnapd::cim::jobs
