#include "pep/version.hpp"

#include <array>
#include <limits>
#include <utility>

#include "pep/pytext.hpp"

namespace strata::pep {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_sep(char c) { return c == '.' || c == '_' || c == '-'; }
bool is_alnum_lower(char c) { return is_digit(c) || (c >= 'a' && c <= 'z'); }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// A recursive-descent matcher for packaging's VERSION_PATTERN. The pattern's quantifiers are
// possessive (and nothing after an optional part can start with what it would give back), so a
// greedy single pass accepts exactly the strings the regex accepts.
class Parser {
 public:
  explicit Parser(std::string_view lowered) : s_(lowered) {}

  bool at_end() const { return pos_ == s_.size(); }
  bool peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  bool peek_digit() const { return pos_ < s_.size() && is_digit(s_[pos_]); }

  bool eat(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  bool eat_sep() {
    if (pos_ < s_.size() && is_sep(s_[pos_])) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool eat_word(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  // First word of `words` (in order, as the regex alternation tries them) found at pos.
  std::string_view eat_one_of(std::initializer_list<std::string_view> words) {
    for (std::string_view w : words) {
      if (eat_word(w)) return w;
    }
    return {};
  }
  std::string_view eat_digits() {
    std::size_t start = pos_;
    while (peek_digit()) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  std::size_t pos_ = 0;
  std::string_view s_;
};

struct NumberError {
  std::string digits;
};

// Parses ASCII digits into a uint64; records the first number that does not fit.
std::uint64_t to_number(std::string_view digits, std::optional<NumberError>& overflow) {
  std::uint64_t value = 0;
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  for (char c : digits) {
    auto d = static_cast<std::uint64_t>(c - '0');
    if (value > (max - d) / 10) {
      if (!overflow) overflow = NumberError{std::string(digits)};
      return 0;
    }
    value = value * 10 + d;
  }
  return value;
}

std::string normalize_pre_kind(std::string_view letter) {
  if (letter == "alpha" || letter == "a") return "a";
  if (letter == "beta" || letter == "b") return "b";
  return "rc";  // c, rc, pre, preview
}

std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

int compare_local(const std::vector<LocalSegment>& a, const std::vector<LocalSegment>& b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto* ai = std::get_if<std::uint64_t>(&a[i]);
    const auto* bi = std::get_if<std::uint64_t>(&b[i]);
    if (ai && bi) {
      if (*ai != *bi) return *ai < *bi ? -1 : 1;
    } else if (!ai && !bi) {
      int c = std::get<std::string>(a[i]).compare(std::get<std::string>(b[i]));
      if (c != 0) return c < 0 ? -1 : 1;
    } else {
      return ai ? 1 : -1;  // strings sort before numbers
    }
  }
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return 0;
}

// The 6-number suffix of packaging's _cmpkey: (pre_rank, pre_n, post_rank, post_n, dev_rank,
// dev_n); ranks are offset by one so they fit unsigned (dev-only = 0, a = 1, b = 2, rc = 3,
// final = 4).
std::array<std::uint64_t, 6> suffix_key(const Version& v) {
  std::uint64_t pre_rank = 4;
  std::uint64_t pre_n = 0;
  if (v.pre()) {
    const std::string& kind = v.pre()->kind;
    pre_rank = kind == "a" ? 1 : kind == "b" ? 2 : 3;
    pre_n = v.pre()->number;
  } else if (!v.post() && v.dev()) {
    pre_rank = 0;
  }
  return {pre_rank, pre_n, v.post() ? 1u : 0u, v.post().value_or(0), v.dev() ? 0u : 1u, v.dev().value_or(0)};
}

std::size_t trimmed_size(const std::vector<std::uint64_t>& release) {
  std::size_t n = release.size();
  while (n > 0 && release[n - 1] == 0) --n;
  return n;
}

}  // namespace

Result<Version> Version::parse(std::string_view text) {
  auto invalid = [&](std::string why = {}) {
    std::string message = "invalid version " + quote(text);
    if (!why.empty()) message += ": " + why;
    return fail(ErrorKind::usage, std::move(message));
  };

  std::string_view body = py_strip(text);
  std::string lowered;
  lowered.reserve(body.size());
  for (char c : body) {
    if (static_cast<unsigned char>(c) >= 0x80) return invalid();
    lowered.push_back(lower(c));
  }

  Parser p(lowered);
  std::optional<NumberError> overflow;
  Version v;

  p.eat('v');

  // Epoch: digits followed by '!'.
  std::size_t start = p.pos_;
  std::string_view digits = p.eat_digits();
  if (!digits.empty() && p.eat('!')) {
    v.epoch_ = to_number(digits, overflow);
  } else {
    p.pos_ = start;
  }

  // Release: N(.N)*
  digits = p.eat_digits();
  if (digits.empty()) return invalid();
  v.release_.push_back(to_number(digits, overflow));
  while (p.peek('.') && p.pos_ + 1 < lowered.size() && is_digit(lowered[p.pos_ + 1])) {
    ++p.pos_;
    v.release_.push_back(to_number(p.eat_digits(), overflow));
  }

  // Pre-release: [._-]? (alpha|a|beta|b|preview|pre|c|rc) [._-]? N?
  start = p.pos_;
  p.eat_sep();
  if (std::string_view letter = p.eat_one_of({"alpha", "a", "beta", "b", "preview", "pre", "c", "rc"});
      !letter.empty()) {
    p.eat_sep();
    v.pre_ = PreRelease{normalize_pre_kind(letter), to_number(p.eat_digits(), overflow)};
  } else {
    p.pos_ = start;
  }

  // Post-release: -N | [._-]? (post|rev|r) [._-]? N?
  start = p.pos_;
  if (p.peek('-') && p.pos_ + 1 < lowered.size() && is_digit(lowered[p.pos_ + 1])) {
    ++p.pos_;
    v.post_ = to_number(p.eat_digits(), overflow);
  } else {
    p.eat_sep();
    if (!p.eat_one_of({"post", "rev", "r"}).empty()) {
      p.eat_sep();
      v.post_ = to_number(p.eat_digits(), overflow);
    } else {
      p.pos_ = start;
    }
  }

  // Development release: [._-]? dev [._-]? N?
  start = p.pos_;
  p.eat_sep();
  if (p.eat_word("dev")) {
    p.eat_sep();
    v.dev_ = to_number(p.eat_digits(), overflow);
  } else {
    p.pos_ = start;
  }

  // Local label: + [a-z0-9]+ ([._-][a-z0-9]+)*
  if (p.eat('+')) {
    std::string_view rest = std::string_view(lowered).substr(p.pos_);
    std::size_t i = 0;
    while (true) {
      std::size_t seg_start = i;
      while (i < rest.size() && is_alnum_lower(rest[i])) ++i;
      if (i == seg_start) return invalid();
      std::string_view seg = rest.substr(seg_start, i - seg_start);
      bool numeric = true;
      for (char c : seg) numeric = numeric && is_digit(c);
      if (numeric) {
        v.local_.emplace_back(to_number(seg, overflow));
      } else {
        v.local_.emplace_back(std::string(seg));
      }
      if (i == rest.size()) break;
      if (!is_sep(rest[i])) return invalid();
      ++i;
    }
    p.pos_ = lowered.size();
  }

  if (!p.at_end()) return invalid();
  if (overflow) return invalid("the number " + overflow->digits + " does not fit in 64 bits");
  return v;
}

Version Version::from_parts(std::uint64_t epoch, std::vector<std::uint64_t> release,
                            std::optional<PreRelease> pre, std::optional<std::uint64_t> post,
                            std::optional<std::uint64_t> dev, std::vector<LocalSegment> local) {
  Version v;
  v.epoch_ = epoch;
  v.release_ = std::move(release);
  if (v.release_.empty()) v.release_.push_back(0);
  v.pre_ = std::move(pre);
  v.post_ = post;
  v.dev_ = dev;
  v.local_ = std::move(local);
  return v;
}

namespace {

std::string render(std::uint64_t epoch, const std::vector<std::uint64_t>& release, std::size_t release_len,
                   const std::optional<PreRelease>& pre, const std::optional<std::uint64_t>& post,
                   const std::optional<std::uint64_t>& dev, const std::string& local) {
  std::string out;
  if (epoch != 0) out += std::to_string(epoch) + "!";
  for (std::size_t i = 0; i < release_len; ++i) {
    if (i) out += '.';
    out += std::to_string(release[i]);
  }
  if (pre) out += pre->kind + std::to_string(pre->number);
  if (post) out += ".post" + std::to_string(*post);
  if (dev) out += ".dev" + std::to_string(*dev);
  if (!local.empty()) out += "+" + local;
  return out;
}

}  // namespace

std::string Version::str() const {
  return render(epoch_, release_, release_.size(), pre_, post_, dev_, local_str());
}

std::string Version::canonical_str() const {
  std::size_t n = std::max<std::size_t>(trimmed_size(release_), 1);
  return render(epoch_, release_, std::min(n, release_.size()), pre_, post_, dev_, local_str());
}

Version Version::public_version() const {
  Version v = *this;
  v.local_.clear();
  return v;
}

Version Version::base_version() const { return from_parts(epoch_, release_); }

std::string Version::local_str() const {
  std::string out;
  for (std::size_t i = 0; i < local_.size(); ++i) {
    if (i) out += '.';
    if (const auto* n = std::get_if<std::uint64_t>(&local_[i])) {
      out += std::to_string(*n);
    } else {
      out += std::get<std::string>(local_[i]);
    }
  }
  return out;
}

std::strong_ordering operator<=>(const Version& a, const Version& b) {
  if (auto c = a.epoch_ <=> b.epoch_; c != 0) return c;

  std::size_t na = trimmed_size(a.release_);
  std::size_t nb = trimmed_size(b.release_);
  for (std::size_t i = 0; i < std::min(na, nb); ++i) {
    if (auto c = a.release_[i] <=> b.release_[i]; c != 0) return c;
  }
  if (auto c = na <=> nb; c != 0) return c;

  if (auto c = suffix_key(a) <=> suffix_key(b); c != 0) return c;

  // A version without a local label sorts before any with one.
  if (a.local_.empty() || b.local_.empty()) return !a.local_.empty() <=> !b.local_.empty();
  int c = compare_local(a.local_, b.local_);
  return c < 0   ? std::strong_ordering::less
         : c > 0 ? std::strong_ordering::greater
                 : std::strong_ordering::equal;
}

}  // namespace strata::pep
