#include "server/wsman/enumeration_table.hpp"

#include "common/uuid.hpp"


namespace vsnapd::server::wsman {
namespace {


}  // namespace

enumeration_table::enumeration_table(std::size_t max_per_user, clock::duration idle_expiry)
    : max_per_user_(max_per_user), idle_expiry_(idle_expiry) {}

clock::time_point enumeration_table::expiry_of(const slot& s) const {
  return s.expires_at ? *s.expires_at : s.last_used + idle_expiry_;
}

void enumeration_table::sweep(clock::time_point now) {
  std::vector<std::unique_ptr<enumeration_context>> dead;  // destroyed outside the lock
  {
    std::lock_guard lock(mutex_);
    for (auto it = slots_.begin(); it != slots_.end();) {
      if (it->second.ctx && expiry_of(it->second) <= now) {
        dead.push_back(std::move(it->second.ctx));
        if (--per_user_[it->second.user] == 0) {
          per_user_.erase(it->second.user);
        }
        it = slots_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

std::optional<std::string> enumeration_table::add(std::unique_ptr<enumeration_context> ctx,
                                                  clock::time_point now) {
  sweep(now);
  std::lock_guard lock(mutex_);
  std::size_t& count = per_user_[ctx->user];
  if (count >= max_per_user_) {
    if (count == 0) {
      per_user_.erase(ctx->user);
    }
    return std::nullopt;
  }
  // Context ids are bearer tokens within one user's scope: unpredictable, so one user cannot
  // guess another's (the owner check stops that anyway), and unique for the daemon's lifetime.
  std::string id = "uuid:" + random_uuid();
  slot s;
  s.user = ctx->user;
  s.last_used = now;
  s.expires_at = ctx->expires_at;
  s.ctx = std::move(ctx);
  ++count;
  slots_.emplace(id, std::move(s));
  return id;
}

std::unique_ptr<enumeration_context> enumeration_table::take(std::string_view id,
                                                             std::string_view user,
                                                             clock::time_point now,
                                                             take_status& status) {
  std::unique_ptr<enumeration_context> expired;  // destroyed outside the lock
  std::lock_guard lock(mutex_);
  auto it = slots_.find(std::string(id));
  if (it == slots_.end() || it->second.user != user) {
    status = take_status::unknown;
    return nullptr;
  }
  if (!it->second.ctx) {
    status = take_status::busy;
    return nullptr;
  }
  if (expiry_of(it->second) <= now) {
    expired = std::move(it->second.ctx);
    if (--per_user_[it->second.user] == 0) {
      per_user_.erase(it->second.user);
    }
    slots_.erase(it);
    status = take_status::unknown;
    return nullptr;
  }
  status = take_status::ok;
  return std::move(it->second.ctx);
}

void enumeration_table::put_back(std::string_view id, std::unique_ptr<enumeration_context> ctx,
                                 clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(std::string(id));
  if (it == slots_.end()) {
    return;  // cannot happen: checked-out slots are never swept
  }
  it->second.last_used = now;
  it->second.ctx = std::move(ctx);
}

void enumeration_table::erase_checked_out(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(std::string(id));
  if (it == slots_.end()) {
    return;
  }
  if (--per_user_[it->second.user] == 0) {
    per_user_.erase(it->second.user);
  }
  slots_.erase(it);
}

bool enumeration_table::release(std::string_view id, std::string_view user, clock::time_point now) {
  take_status status = take_status::ok;
  auto ctx = take(id, user, now, status);
  if (!ctx) {
    return false;
  }
  erase_checked_out(id);
  return true;
}

std::optional<clock::time_point> enumeration_table::renew(std::string_view id,
                                                          std::string_view user,
                                                          std::optional<clock::time_point> expires,
                                                          clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(std::string(id));
  if (it == slots_.end() || it->second.user != user || !it->second.ctx ||
      expiry_of(it->second) <= now) {
    return std::nullopt;
  }
  it->second.last_used = now;
  it->second.expires_at = expires;
  return expiry_of(it->second);
}

std::optional<clock::time_point> enumeration_table::status(std::string_view id,
                                                           std::string_view user,
                                                           clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(std::string(id));
  if (it == slots_.end() || it->second.user != user || expiry_of(it->second) <= now) {
    return std::nullopt;
  }
  return expiry_of(it->second);
}

std::size_t enumeration_table::size() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

}  // namespace vsnapd::server::wsman
