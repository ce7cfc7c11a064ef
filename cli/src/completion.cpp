#include "ca4/cli/app.h"

namespace ca4::cli {

const char* bashCompletion() {
  return R"(# bash completion for ca4ctl — source it, or: ca4ctl completion bash > /etc/bash_completion.d/ca4ctl
_ca4ctl() {
  local cur prev words cword
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  local cmds="up plan down status verify reconcile tunnel version doctor completion"
  local globals="-f --file -o --output --target --dry-run -v --verbose -h --help"
  case "$prev" in
    -f|--file) COMPREPLY=( $(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur") ); return ;;
    -o|--output) COMPREPLY=( $(compgen -W "table json" -- "$cur") ); return ;;
    --target) COMPREPLY=( $(compgen -W "local aws hosts kubernetes" -- "$cur") ); return ;;
    verify) COMPREPLY=( $(compgen -W "preflight kafka db e2e all" -- "$cur") ); return ;;
    tunnel) COMPREPLY=( $(compgen -W "all kafka grafana k3s prometheus status stop --background" -- "$cur") ); return ;;
    completion) COMPREPLY=( $(compgen -W "bash zsh" -- "$cur") ); return ;;
    --stage) COMPREPLY=( $(compgen -W "infra cluster platform edge monitoring verify" -- "$cur") ); return ;;
  esac
  local i sub=""
  for ((i=1; i<COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in up|plan|down|status|verify|reconcile|tunnel|version|doctor|completion) sub=${COMP_WORDS[i]};; esac
  done
  local extra=""
  case "$sub" in
    up) extra="--stage" ;; plan) extra="--stage --show-spec" ;; down) extra="--purge" ;;
    reconcile) extra="--watch --interval" ;;
  esac
  if [[ -z $sub ]]; then COMPREPLY=( $(compgen -W "$cmds $globals" -- "$cur") ); else COMPREPLY=( $(compgen -W "$extra $globals" -- "$cur") ); fi
}
complete -F _ca4ctl ca4ctl
)";
}

const char* zshCompletion() {
  return R"(#compdef ca4ctl
# zsh completion for ca4ctl: source <(ca4ctl completion zsh)   (e.g. in ~/.zshrc, after compinit)
_ca4ctl() {
  local -a cmds
  cmds=(
    'up:reconcile the pipeline to the spec (start what is missing)'
    'plan:show what up would change (exit 2 if anything)'
    'down:stop everything, in reverse order'
    'status:what runs, with pids, ports and logs'
    'verify:check the pipeline (preflight, kafka, db, e2e)'
    'reconcile:reconcile once, or keep reconciling with --watch'
    'tunnel:forward local ports through the bastion (status, stop)'
    'version:print the version'
    'doctor:check prerequisites and say how to fix each'
    'completion:print a shell completion script'
  )
  _arguments -C \
    '(-f --file)'{-f,--file}'[spec file]:spec:_files -g "*.y(a|)ml"' \
    '(-o --output)'{-o,--output}'[output format]:format:(table json)' \
    '--target[override spec.target]:target:(local aws hosts kubernetes)' \
    '--dry-run[plan only, change nothing]' \
    '(-v --verbose)'{-v,--verbose}'[more detail]' \
    '1:command:->cmd' '*::arg:->args'
  case $state in
    cmd) _describe 'command' cmds ;;
    args)
      case $words[1] in
        verify) _values 'check' preflight kafka db e2e all ;;
        tunnel) _values 'tunnel' all kafka grafana k3s prometheus status stop ;;
        completion) _values 'shell' bash zsh ;;
        reconcile) _arguments '--watch[keep reconciling]' '--interval[seconds between passes]:seconds:' ;;
        down) _arguments '--purge[also delete the local data directory]' ;;
        up) _arguments '*--stage[run only this stage]:stage:(infra cluster platform edge monitoring verify)' ;;
        plan) _arguments '*--stage[plan only this stage]:stage:(infra cluster platform edge monitoring verify)' '--show-spec[print the effective spec]' ;;
      esac ;;
  esac
}
compdef _ca4ctl ca4ctl 2>/dev/null || true
)";
}

}  // namespace ca4::cli
