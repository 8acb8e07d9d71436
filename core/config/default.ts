// The embedded default configuration of gunyahd: what runs when no --config is given, and the documented example
// of every key (a file passed with --config uses the same keys; the keys it leaves out keep these values).
export const DEFAULT_CONFIG_YAML = `# gunyahd configuration. Every key is optional; a command-line flag overrides its key.

# REST API listener (--host, --port); port 0 picks a free port.
host: 127.0.0.1
port: 8080
# Also serve the API on a Unix socket (--socket PATH).
socket: null
# Where the /sys/hypervisor tree is mounted (--mount DIR): a directory, "default" for
# $XDG_RUNTIME_DIR/gunyah-emu/hypervisor (or <tmpdir>/gunyah-emu-<uid>/hypervisor), or false (--no-mount).
mount: default
# Directory for the daemon's state (--state-dir DIR).
state_dir: null
# Bearer token required for changes (--token); required when listening beyond loopback.
token: null
# Seed for reproducible capability IDs (--seed N); null picks random ones.
seed: null
# pino log level on stderr: fatal, error, warn, info, debug, trace or silent.
log_level: info
# Deadline of each RM call of the HLOS driver, in milliseconds.
rm_timeout_ms: 2000

# Secondary VMs the HLOS creates at start, through the RM (spec §9.7). Each: name, image (idle, console-echo,
# msgq-echo, doorbell-ping, traffic), vcpus (1), memory (1M), params (the image's parameters), vmid (a fixed
# VMID below 64; default a dynamic one from 0x80).
vms:
  - name: svm1
    image: console-echo
  - name: svm2
    image: traffic
    params:
      rate: 50          # message-queue operations and doorbell rings per second
      console_rate: 1   # status lines per second on its console
`;
