#include "server/cimxml/enumeration_contexts.hpp"

#include <random>

namespace vsnapd::server::cimxml {

enumeration_contexts::enumeration_contexts(limits l, clock_fn now)
    : limits_(l),
      now_(now ? std::move(now) : clock_fn([] { return std::chrono::steady_clock::now(); })) {
  // Ids carry a random part so that a client cannot guess another client's context.
  std::random_device rd;
  salt_ = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

cim::result<std::chrono::seconds> enumeration_contexts::grant_timeout(
    std::optional<std::uint32_t> requested) const {
  if (!requested) {
    return limits_.default_timeout;
  }
  if (*requested == 0) {
    return cim::fail(cim::errc::invalid_operation_timeout,
                     "OperationTimeout 0 (no timeout) is not supported; at most " +
                         std::to_string(limits_.max_timeout.count()) + " s");
  }
  if (std::chrono::seconds(*requested) > limits_.max_timeout) {
    return cim::fail(cim::errc::invalid_operation_timeout,
                     "OperationTimeout " + std::to_string(*requested) + " s exceeds the limit of " +
                         std::to_string(limits_.max_timeout.count()) + " s");
  }
  return std::chrono::seconds(*requested);
}

void enumeration_contexts::drop_expired_locked(std::chrono::steady_clock::time_point now) {
  for (auto it = slots_.begin(); it != slots_.end();) {
    // A checked-out context is in an operation; it cannot expire until it is put back.
    if (it->second.ctx && it->second.expires <= now) {
      it = slots_.erase(it);
    } else {
      ++it;
    }
  }
}

cim::result<std::string> enumeration_contexts::add(enumeration_context ctx) {
  const auto now = now_();
  std::lock_guard lock(mutex_);
  if (slots_.size() >= limits_.max_contexts) {
    drop_expired_locked(now);
  }
  if (slots_.size() >= limits_.max_contexts) {
    return cim::fail(cim::errc::server_limits_exceeded,
                     "too many open enumeration contexts (limit " +
                         std::to_string(limits_.max_contexts) + ")");
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx.%llu", static_cast<unsigned long long>(salt_),
                static_cast<unsigned long long>(next_id_++));
  salt_ = salt_ * 6364136223846793005ull + 1442695040888963407ull;
  std::string id(buf);
  slot s;
  s.user = ctx.user;
  s.expires = now + ctx.timeout;
  s.ctx = std::make_unique<enumeration_context>(std::move(ctx));
  slots_.emplace(id, std::move(s));
  return id;
}

cim::result<std::unique_ptr<enumeration_context>> enumeration_contexts::check_out(
    const std::string& id, const std::string& user) {
  const auto now = now_();
  std::lock_guard lock(mutex_);
  const auto it = slots_.find(id);
  if (it == slots_.end() || it->second.user != user) {
    // Another user's context is reported exactly like a missing one: no probing of ids.
    return cim::fail(cim::errc::invalid_enumeration_context,
                     "no open enumeration context '" + id + "'");
  }
  if (!it->second.ctx) {
    return cim::fail(cim::errc::invalid_enumeration_context,
                     "enumeration context '" + id + "' is in use by another operation");
  }
  if (it->second.expires <= now) {
    slots_.erase(it);
    return cim::fail(cim::errc::invalid_enumeration_context,
                     "enumeration context '" + id + "' has expired");
  }
  return std::move(it->second.ctx);
}

void enumeration_contexts::put_back(const std::string& id, std::unique_ptr<enumeration_context> ctx) {
  const auto now = now_();
  std::lock_guard lock(mutex_);
  const auto it = slots_.find(id);
  if (it == slots_.end()) {
    return;
  }
  it->second.expires = now + ctx->timeout;
  it->second.ctx = std::move(ctx);
}

void enumeration_contexts::remove(const std::string& id) {
  std::lock_guard lock(mutex_);
  slots_.erase(id);
}

std::size_t enumeration_contexts::size() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

}  // namespace vsnapd::server::cimxml
