# Process bookkeeping shared by the testbed scripts (sourced, not run).
#
# pid_alive PID NEEDLE: true if PID is a live (not zombie) process whose command line contains
# NEEDLE. A pid file is trusted only while that holds, so a recycled pid is never ours.
# During execve the kernel shows an empty command line for a moment; a live process in that
# window counts as alive (reading it as dead made `up` report a component "exited" that had just
# been started).
pid_alive() {
  local pid=$1 needle=$2 state cmd
  [[ -n $pid && -d /proc/$pid ]] || return 1
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z && $state != X ]] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ -z $cmd || $cmd == *"$needle"* ]]
}
