# SPDX-License-Identifier: Apache-2.0
# bash completion for the sqnup tools: sqn-sim, sqn-update, sqn-dup,
# sqn-scenario, sqn-chat. Installed once per command name. The options are
# read from the tool's own --help (of the subcommand, for sqn-dup and
# sqn-scenario), so completion cannot drift from the tool.

_sqnup_opts() {
  "$@" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

_sqnup() {
  local cur prev cmd sub
  COMPREPLY=()
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  cmd=${COMP_WORDS[0]}
  case $cmd in
  *sqn-scenario | *sqn-dup)
    if [ "$COMP_CWORD" -eq 1 ]; then
      local subs
      if [[ $cmd == *sqn-scenario ]]; then
        subs="run check sweep campaign merge import diff --help --version"
      else
        subs="build build-elf info --help --version"
      fi
      COMPREPLY=($(compgen -W "$subs" -- "$cur"))
      return
    fi
    sub=${COMP_WORDS[1]}
    ;;
  esac
  case $prev in
  --profile) COMPREPLY=($(compgen -W "monarch1 gm02s" -- "$cur")); return ;;
  --method) COMPREPLY=($(compgen -W "on-the-fly store" -- "$cur")); return ;;
  --family) COMPREPLY=($(compgen -W "lr5 lr6 lr8" -- "$cur")); return ;;
  --every) COMPREPLY=($(compgen -W "frame byte-step" -- "$cur")); return ;;
  --from)
    local d=${SQNUP_DATADIR:-/usr/share/sqnup}/states
    COMPREPLY=($(compgen -W "$(cd "$d" 2>/dev/null && ls *.json 2>/dev/null | sed 's/\.json$//')" -- "$cur")
               $(compgen -f -- "$cur"))
    return ;;
  --port) COMPREPLY=($(compgen -f -- "${cur:-/dev/tty}")); return ;;
  --bin-dir | --fixtures) COMPREPLY=($(compgen -d -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_sqnup_opts "$cmd" ${sub:+"$sub"})" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -f -- "$cur"))
}

complete -o filenames -F _sqnup sqn-sim sqn-update sqn-dup sqn-scenario sqn-chat
