# shellcheck shell=bash
# Sourced by the hack/install-*.sh scripts: install Debian packages only for what is missing.
#   ensure_packages <label> "<probe>:<package>"...
# A probe is a command name (also looked up in /usr/sbin and /sbin, which a non-root PATH may lack), an absolute
# path (a glob is fine), or @function (present when the function succeeds). apt-get runs only when some probe
# is missing, so a warm machine costs nothing and needs no network. The packages installed are left in
# APT_INSTALLED for callers that must act on a fresh install.
APT_INSTALLED=()

probe_present() {
  local probe=$1
  case "$probe" in
    @*) "${probe#@}" ;;
    /*) compgen -G "$probe" >/dev/null ;;
    *) command -v "$probe" >/dev/null 2>&1 || [[ -x "/usr/sbin/$probe" || -x "/sbin/$probe" ]] ;;
  esac
}

ensure_packages() {
  local label=$1 entry probe pkg
  shift
  local missing=()
  for entry in "$@"; do
    # the first colon ends the probe: a pinned package may carry a version epoch (conntrack=1:1.4.7-1+b2)
    probe="${entry%%:*}" pkg="${entry#*:}"
    probe_present "$probe" && continue
    echo "$label: missing $probe (package $pkg)" >&2
    missing+=("$pkg")
  done
  APT_INSTALLED=()
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "$label: all present, skipping apt" >&2
    return 0
  fi
  mapfile -t APT_INSTALLED < <(printf '%s\n' "${missing[@]}" | sort -u)
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "$label: apt-get update" >&2
  $sudo apt-get update -q >&2
  echo "$label: apt-get install ${APT_INSTALLED[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${APT_INSTALLED[@]}" >&2
}
