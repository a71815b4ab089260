#include "pep/specifier.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "pep/pychar.hpp"
#include "pep/pytext.hpp"

namespace strata::pep {

// Matching mirrors packaging 26.3's range engine (packaging/_ranges.py): every clause becomes a
// list of intervals whose ends are versions or "boundary" points placed just above a version's
// local labels (AFTER_LOCALS) or above all its post-releases (AFTER_POSTS); a set intersects
// them. The order of mixed comparisons and the per-clause fast paths follow packaging's so
// that even its corner cases come out the same.

namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

// Python ints do not overflow; a number at the uint64 limit stays there (documented limit).
std::uint64_t inc(std::uint64_t n) { return n == kMax ? n : n + 1; }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

// ---- Points: versions and boundaries --------------------------------------------------------

enum class BoundaryKind { after_locals, after_posts };

struct Point {
  Version v;
  std::optional<BoundaryKind> boundary;  // nullopt: the version itself
};

int cmp_release(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
  std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t x = i < a.size() ? a[i] : 0;
    std::uint64_t y = i < b.size() ? b[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// Same epoch, release (ignoring trailing zeros) and pre-release.
bool same_base_and_pre(const Version& x, const Version& v) {
  return x.epoch() == v.epoch() && cmp_release(x.release(), v.release()) == 0 && x.pre() == v.pre();
}

// BoundaryVersion._is_family: the versions a boundary sorts above although they compare
// greater than its version.
bool is_family(const Point& b, const Version& other) {
  if (!same_base_and_pre(other, b.v)) return false;
  if (*b.boundary == BoundaryKind::after_locals) {
    return other.post() == b.v.post() && other.dev() == b.v.dev();
  }
  return other.dev() == b.v.dev() || other.post().has_value();
}

// The comparison suffix of a boundary's order key, with an "infinite" post slot for
// AFTER_POSTS: (pre_rank, pre_n, post_rank, post_inf, post_n, dev_rank, dev_n).
std::array<std::uint64_t, 7> boundary_suffix(const Point& b) {
  const Version& v = b.v;
  std::uint64_t pre_rank = 4;
  std::uint64_t pre_n = 0;
  if (v.pre()) {
    pre_rank = v.pre()->kind == "a" ? 1 : v.pre()->kind == "b" ? 2 : 3;
    pre_n = v.pre()->number;
  } else if (!v.post() && v.dev()) {
    pre_rank = 0;
  }
  if (*b.boundary == BoundaryKind::after_posts) return {pre_rank, pre_n, 1, 1, 0, 1, 0};
  return {pre_rank,           pre_n, v.post() ? 1u : 0u, 0, v.post().value_or(0), v.dev() ? 0u : 1u,
          v.dev().value_or(0)};
}

int cmp_boundaries(const Point& a, const Point& b) {
  if (a.v.epoch() != b.v.epoch()) return a.v.epoch() < b.v.epoch() ? -1 : 1;
  if (int c = cmp_release(a.v.release(), b.v.release()); c != 0) return c;
  auto sa = boundary_suffix(a);
  auto sb = boundary_suffix(b);
  if (sa != sb) return sa < sb ? -1 : 1;
  return 0;  // both keys end in the same infinite local component
}

// boundary > version, as BoundaryVersion.__gt__ decides it.
bool boundary_above(const Point& b, const Version& v) { return b.v >= v || is_family(b, v); }

bool point_eq(const Point& a, const Point& b) {
  if (!a.boundary && !b.boundary) return a.v == b.v;
  if (a.boundary && b.boundary) return cmp_boundaries(a, b) == 0;
  return false;  // Python falls back to identity for a version against a boundary
}

bool point_lt(const Point& a, const Point& b) {
  if (!a.boundary && !b.boundary) return a.v < b.v;
  if (a.boundary && b.boundary) return cmp_boundaries(a, b) < 0;
  if (a.boundary) return !boundary_above(a, b.v);
  return boundary_above(b, a.v);
}

// ---- Bounds and intervals ---------------------------------------------------------------------

struct Lower {
  std::optional<Point> p;  // nullopt: -inf
  bool inclusive = false;
};

struct Upper {
  std::optional<Point> p;  // nullopt: +inf
  bool inclusive = false;
};

using Interval = std::pair<Lower, Upper>;
using Ranges = std::vector<Interval>;

Lower lower_at(Version v, bool inclusive, std::optional<BoundaryKind> kind = std::nullopt) {
  return Lower{Point{std::move(v), kind}, inclusive};
}
Upper upper_at(Version v, bool inclusive, std::optional<BoundaryKind> kind = std::nullopt) {
  return Upper{Point{std::move(v), kind}, inclusive};
}

bool lower_eq(const Lower& a, const Lower& b) {
  bool same = (!a.p && !b.p) || (a.p && b.p && point_eq(*a.p, *b.p));
  return same && a.inclusive == b.inclusive;
}

bool lower_lt(const Lower& a, const Lower& b) {
  if (!a.p) return b.p.has_value();
  if (!b.p) return false;
  if (!point_eq(*a.p, *b.p)) return point_lt(*a.p, *b.p);
  return a.inclusive && !b.inclusive;
}

bool upper_lt(const Upper& a, const Upper& b) {
  if (!a.p) return false;
  if (!b.p) return true;
  if (!point_eq(*a.p, *b.p)) return point_lt(*a.p, *b.p);
  return !a.inclusive && b.inclusive;
}

// Python's max(a, b): b only if b > a, where total_ordering's > is "not < and not ==".
const Lower& max_lower(const Lower& a, const Lower& b) {
  return (!lower_lt(b, a) && !lower_eq(b, a)) ? b : a;
}
const Upper& min_upper(const Upper& a, const Upper& b) { return upper_lt(b, a) ? b : a; }

// Whether x lies at or above a lower bound (LowerBound._above).
bool above(const Lower& l, const Version& x) {
  if (!l.p) return true;
  const Point& p = *l.p;
  if (!p.boundary) return l.inclusive ? p.v <= x : p.v < x;
  if (p.v >= x) return false;
  bool base = same_base_and_pre(x, p.v);
  if (*p.boundary == BoundaryKind::after_posts) return !base;
  return !(base && x.post() == p.v.post() && x.dev() == p.v.dev());
}

// Whether x lies at or below an upper bound (UpperBound._below).
bool below(const Upper& u, const Version& x) {
  if (!u.p) return true;
  const Point& p = *u.p;
  if (!p.boundary) return u.inclusive ? p.v >= x : p.v > x;
  if (*p.boundary == BoundaryKind::after_posts) return p.v >= x;
  return p.v >= x || (same_base_and_pre(x, p.v) && x.post() == p.v.post() && x.dev() == p.v.dev());
}

bool matches(const Ranges& ranges, const Version& x) {
  for (const auto& [lo, hi] : ranges) {
    if (!above(lo, x)) return false;
    if (below(hi, x)) return true;
  }
  return false;
}

Version replace_suffix(const Version& v, std::optional<PreRelease> pre, std::optional<std::uint64_t> post,
                       std::optional<std::uint64_t> dev) {
  return Version::from_parts(v.epoch(), v.release(), std::move(pre), post, dev);
}

const Version& min_version() {
  static const Version v = Version::from_parts(0, {0}, std::nullopt, std::nullopt, 0);
  return v;
}

// The smallest version above the whole prefix: 1.2 -> 1.3.dev0. A last segment at the uint64
// limit carries (1.MAX -> 2.dev0): no version lies between, so membership is unchanged.
Version next_prefix_dev0(std::uint64_t epoch, std::vector<std::uint64_t> release) {
  while (!release.empty() && release.back() == kMax) release.pop_back();
  if (release.empty()) return Version::from_parts(inc(epoch), {0}, std::nullopt, std::nullopt, 0);
  ++release.back();
  return Version::from_parts(epoch, std::move(release), std::nullopt, std::nullopt, 0);
}

std::optional<Version> least_version_above(const Point& b) {
  const Version& base = b.v;
  if (*b.boundary == BoundaryKind::after_locals) {
    if (base.dev()) return replace_suffix(base, base.pre(), base.post(), inc(*base.dev()));
    std::uint64_t next_post = base.post() ? inc(*base.post()) : 0;
    return replace_suffix(base, base.pre(), next_post, 0);
  }
  if (base.pre())
    return replace_suffix(base, PreRelease{base.pre()->kind, inc(base.pre()->number)}, std::nullopt, 0);
  return std::nullopt;
}

bool range_is_empty(const Lower& lo, const Upper& hi) {
  if (!hi.p) return false;
  if (!lo.p) return !hi.inclusive && !hi.p->boundary && hi.p->v <= min_version();
  if (lo.p->boundary) {
    if (auto successor = least_version_above(*lo.p)) {
      Point s{*successor, std::nullopt};
      if (point_eq(*hi.p, s)) return !hi.inclusive;
      return point_lt(*hi.p, s);
    }
  }
  if (point_eq(*lo.p, *hi.p)) return !(lo.inclusive && hi.inclusive);
  return point_lt(*hi.p, *lo.p);
}

Ranges intersect(const Ranges& left, const Ranges& right) {
  Ranges out;
  std::size_t i = 0, j = 0;
  while (i < left.size() && j < right.size()) {
    const Lower& lo = max_lower(left[i].first, right[j].first);
    const Upper& hi = min_upper(left[i].second, right[j].second);
    if (!range_is_empty(lo, hi)) out.emplace_back(lo, hi);
    if (upper_lt(left[i].second, right[j].second)) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

Ranges full_range() { return {Interval{Lower{}, Upper{}}}; }

Ranges ranges_for(const Specifier& spec, const Version& v) {
  const std::string& op = spec.op();
  if (op == "===") return full_range();
  if (ends_with(spec.version_text(), ".*")) {
    Version lo = Version::from_parts(v.epoch(), v.release(), std::nullopt, std::nullopt, 0);
    Version hi = next_prefix_dev0(v.epoch(), v.release());
    if (op == "==") return {Interval{lower_at(lo, true), upper_at(hi, false)}};
    return {Interval{Lower{}, upper_at(lo, false)}, Interval{lower_at(hi, true), Upper{}}};
  }
  bool has_local = spec.version_text().find('+') != std::string::npos;
  if (op == ">=") return {Interval{lower_at(v, true), Upper{}}};
  if (op == "<=") return {Interval{Lower{}, upper_at(v, true, BoundaryKind::after_locals)}};
  if (op == ">") {
    if (v.dev()) {
      if (*v.dev() == kMax) return {Interval{lower_at(v.public_version(), false), Upper{}}};
      return {Interval{lower_at(replace_suffix(v, v.pre(), v.post(), *v.dev() + 1), true), Upper{}}};
    }
    if (v.post()) {
      if (*v.post() == kMax) return {Interval{lower_at(v, false, BoundaryKind::after_posts), Upper{}}};
      return {Interval{lower_at(replace_suffix(v, v.pre(), *v.post() + 1, 0), true), Upper{}}};
    }
    return {Interval{lower_at(v, false, BoundaryKind::after_posts), Upper{}}};
  }
  if (op == "<") {
    Version bound = v.is_prerelease() ? v : replace_suffix(v, v.pre(), v.post(), 0);
    if (bound <= min_version()) return {};
    return {Interval{Lower{}, upper_at(bound, false)}};
  }
  if (op == "==" || op == "!=") {
    Upper hi = has_local ? upper_at(v, true) : upper_at(v, true, BoundaryKind::after_locals);
    if (op == "==") return {Interval{lower_at(v, true), hi}};
    return {Interval{Lower{}, upper_at(v, false)}, Interval{Lower{hi.p, false}, Upper{}}};
  }
  // ~=
  std::vector<std::uint64_t> prefix(v.release().begin(), v.release().end() - 1);
  return {Interval{lower_at(v, true), upper_at(next_prefix_dev0(v.epoch(), std::move(prefix)), false)}};
}

// packaging's _fast_match: a direct answer for simple clauses, nullopt when ranges are needed.
std::optional<bool> fast_match(const Specifier& spec, const Version& x, const Version& v) {
  if (ends_with(spec.version_text(), ".*") || !x.local().empty()) return std::nullopt;
  const std::string& op = spec.op();
  if (op == ">=") return x >= v;
  if (op == "<=") return x <= v;
  if (op == "==") return x == v;
  if (op == "!=") return x != v;
  if (op == "<" || op == ">") {
    if (x.epoch() != v.epoch() || cmp_release(x.release(), v.release()) != 0)
      return op == "<" ? x < v : x > v;
  }
  return std::nullopt;
}

// ---- Clause grammar -----------------------------------------------------------------------

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// v?(N!)?N(.N)* exactly, the part of "==V.*" before the wildcard.
bool is_wildcard_prefix(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == 'v' || s[i] == 'V')) ++i;
  auto digits = [&] {
    std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    return i > start;
  };
  std::size_t save = i;
  if (digits() && i < s.size() && s[i] == '!') {
    ++i;
  } else {
    i = save;
  }
  if (!digits()) return false;
  while (i < s.size()) {
    if (s[i] != '.') return false;
    ++i;
    if (!digits()) return false;
  }
  return true;
}

}  // namespace

// ---- Specifier ------------------------------------------------------------------------------

Result<Specifier> Specifier::parse(std::string_view text) {
  auto invalid = [&] { return fail(ErrorKind::usage, "invalid specifier " + quote(text)); };
  std::string_view s = py_strip(text);
  std::string_view op;
  for (std::string_view candidate : {"===", "~=", "==", "!=", "<=", ">=", "<", ">"}) {
    if (s.substr(0, candidate.size()) == candidate) {
      op = candidate;
      break;
    }
  }
  if (op.empty()) return invalid();
  std::string_view version = py_strip(s.substr(op.size()));

  Specifier spec;
  spec.op_ = std::string(op);
  spec.version_ = std::string(version);
  if (op == "===") {
    if (py_has_space(version) || version.find_first_of(";)") != std::string_view::npos) return invalid();
    if (auto v = Version::parse(version)) spec.parsed_ = std::move(*v);
    return spec;
  }
  bool wildcard = (op == "==" || op == "!=") && ends_with(version, ".*");
  std::string_view base = wildcard ? version.substr(0, version.size() - 2) : version;
  if (wildcard && !is_wildcard_prefix(base)) return invalid();
  // Only the leading spaces py_strip already removed are allowed; Version::parse would strip more.
  if (base.empty() || py_space_at(base, 0) != 0 || py_space_before(base, base.size()) != 0) return invalid();
  auto v = Version::parse(base);
  if (!v) return invalid();
  bool allows_local = op == "==" || op == "!=";
  if (!allows_local && !v->local().empty()) return invalid();
  if (op == "~=" && v->release().size() < 2) return invalid();
  spec.parsed_ = std::move(*v);
  return spec;
}

bool Specifier::prereleases() const {
  if (op_ == "!=") return false;
  if (op_ == "==" && ends_with(version_, ".*")) return false;
  return parsed_ && parsed_->is_prerelease();
}

std::string Specifier::str() const { return op_ + version_; }

std::string Specifier::canonical() const {
  if (op_ == "===" || ends_with(version_, ".*")) return op_ + version_;
  return op_ + (op_ == "~=" ? parsed_->str() : parsed_->canonical_str());
}

bool Specifier::contains(const Version& version, std::optional<bool> prereleases) const {
  if (op_ == "===") {
    if (py_lower(version.str()) != py_lower(version_)) return false;
    return !(prereleases == false && version.is_prerelease());
  }
  // An unset argument resolves to true or unset, which admit pre-releases alike.
  if (prereleases == false && version.is_prerelease()) return false;
  if (auto m = fast_match(*this, version, *parsed_)) return *m;
  return matches(ranges_for(*this, *parsed_), version);
}

bool Specifier::contains_text(std::string_view version_text, std::optional<bool> prereleases) const {
  auto parsed = Version::parse(version_text);
  if (op_ == "===") {
    if (py_lower(version_text) != py_lower(version_)) return false;
    return !(prereleases == false && parsed && parsed->is_prerelease());
  }
  if (!parsed) return false;
  return contains(*parsed, prereleases);
}

// ---- SpecifierSet ---------------------------------------------------------------------------

Result<SpecifierSet> SpecifierSet::parse(std::string_view text, std::optional<bool> prereleases) {
  SpecifierSet set;
  set.prereleases_ = prereleases;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view piece = py_strip(text.substr(start, comma - start));
    if (!piece.empty()) {
      auto spec = Specifier::parse(piece);
      if (!spec) {
        return fail(ErrorKind::usage, "invalid specifier " + quote(piece) + " in " + quote(text));
      }
      set.specs_.push_back(std::move(*spec));
    }
    start = comma + 1;
  }
  return set;
}

std::optional<bool> SpecifierSet::prereleases() const {
  if (prereleases_) return prereleases_;
  if (specs_.empty()) return std::nullopt;
  for (const Specifier& s : specs_) {
    if (s.prereleases()) return true;
  }
  return std::nullopt;
}

bool SpecifierSet::has_arbitrary() const {
  return std::any_of(specs_.begin(), specs_.end(), [](const Specifier& s) { return s.op() == "==="; });
}

bool SpecifierSet::contains(const Version& version, std::optional<bool> prereleases) const {
  return contains_item(&version, {}, true, prereleases);
}

bool SpecifierSet::contains_text(std::string_view version_text, std::optional<bool> prereleases) const {
  auto parsed = Version::parse(version_text);
  return contains_item(parsed ? &*parsed : nullptr, version_text, false, prereleases);
}

// SpecifierSet.contains: `version` is the parsed item (null if unparsable), `raw` the string
// when the caller passed one.
bool SpecifierSet::contains_item(const Version* version, std::string_view raw, bool item_is_version,
                                 std::optional<bool> prereleases) const {
  bool arbitrary = has_arbitrary();
  // Unset defers to the set's own flag; only an effective false rejects pre-releases.
  std::optional<bool> effective = prereleases ? prereleases : prereleases_;
  bool reject_pre = effective == false;

  auto intersected = [this] {
    Ranges r = ranges_for(specs_[0], *specs_[0].parsed_);
    for (std::size_t i = 1; i < specs_.size() && !r.empty(); ++i) {
      r = intersect(r, ranges_for(specs_[i], *specs_[i].parsed_));
    }
    return r;
  };

  if (version && !arbitrary && version->local().empty() && !specs_.empty()) {
    if (version->is_prerelease() && reject_pre) return false;
    // Clauses answer one by one until one needs ranges; then the intersected ranges decide.
    for (const Specifier& s : specs_) {
      auto m = fast_match(s, *version, *s.parsed_);
      if (!m) return matches(intersected(), *version);
      if (!*m) return false;
    }
    return true;
  }

  if (specs_.empty()) {
    // Every item passes; only an effective false drops (parsable) pre-releases.
    return !(reject_pre && version && version->is_prerelease());
  }

  if (arbitrary) {
    for (const Specifier& s : specs_) {
      bool ok = item_is_version ? s.contains(*version, true) : s.contains_text(raw, true);
      if (!ok) return false;
    }
    return !(reject_pre && version && version->is_prerelease());
  }

  if (!version) return false;
  if (reject_pre && version->is_prerelease()) return false;
  return matches(intersected(), *version);
}

std::string SpecifierSet::str() const {
  std::vector<const Specifier*> sorted;
  for (const Specifier& s : specs_) sorted.push_back(&s);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Specifier* a, const Specifier* b) { return a->str() < b->str(); });
  std::vector<std::string> seen;
  std::string out;
  for (const Specifier* s : sorted) {
    std::string key = s->canonical();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    if (!out.empty()) out += ',';
    out += s->str();
  }
  return out;
}

}  // namespace strata::pep
