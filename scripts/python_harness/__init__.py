"""pipebench's Python harness: Python's multiprocessing transports measured with pipebench's
workloads, written as Google Benchmark-shaped JSON (rows named
`<workload>/<transport>/bytes:<N>/manual_time`), so that the report and compare.py read the
Python numbers like the C++ ones. `scripts/python_baselines` is its command;
scripts/PYTHON_BASELINES.md says what it measures and why.

The protocol is the C++ harness's (harness/src/workloads.cpp and the results contract of
issue 10):

- The (benchmark, repetition) pairs run in one shuffled order across all benchmarks (--seed
  repeats an order), so that drift spreads as variance instead of biasing whatever ran during
  it. A benchmark's message count is calibrated on the first of its repetitions that runs (pilot
  runs of 1, 10, 100... messages until one takes a quarter of --min-time) and reused by the others.
- For every measurement run the controller forks a leader (sender or pinger, CPU L) and a
  follower (receiver or echoer, CPU F). Each opens its end of the transport, prepares, and says
  it is ready; only then does the controller say go and the leader start its clock.
- Message `seq` is slot `seq % slots` of a pool of pseudo-random bytes (4x the last-level cache
  for messages of 4 KiB and more, so that none is cache-resident) with `seq` stamped
  little-endian into its first 8 bytes. Every receiver checks size, stamp and every byte after
  the stamp (a memcmp against its own copy of the pool).
- Throughput stops the clock on the receiver's acknowledgement over a separate pipe; latency
  records every round trip; the open loop sends at fixed times (a share of the transport's peak,
  measured first) and records each message's delay from its intended send time; pairs runs
  throughput in P pairs at once. CPU (user + sys) of every process over the timed phase; CPU
  steal and load average of the machine over it.
- The controller never blocks on the data path: a child that dies, fails or makes no progress
  for --stall-timeout seconds makes that repetition an error row, and the sweep goes on. Every
  repetition is a row; aggregates are over the successful ones.

One concept per module, as in harness/src (its names in brackets):

  payload             the messages and the receiver's check of each (payload_pool)
  stats               latency percentiles, the slowest's share (latency_stats)
  calibration         a benchmark's message count (message_count)
  host                the machine's facts, cache and load (host_facts, host_load)
  channels            what a side sends and receives through, once its transport is open
  transports          the Python transports, made by the controller before the fork
  cpp_peer            py_from_tuned_pipe: a C++ `pipes` sender or pinger on the leader's side
  tuned_module        the project's Python module, tunedpipe, for py_tuned_pipe*
  transport_registry  every transport by id (transport_registry)
  workloads           what each side does: sender/receiver, pinger/echoer, the open loop's
                      paced sender and receiver (workloads)
  fan_workloads       fanout and fanin: what the hub and the W workers do, a Pool's workers
                      and the watch on their deaths
  fan_transports      py_pool and py_queue as worker pools
  child               a child process's life, its links to the controller, the fault seam
  supervision         the controller's side of a run: start, watch, kill (peer_process), for
                      a pair, several pairs at once (pair_group) or a worker pool
  output              the rows, the context, the console lines and the file, in Google
                      Benchmark's shape
  sweep               every repetition of every benchmark, interleaved, and the open loop's
                      peak and plan (repetition_runner)
  settings            the options of a sweep (sweep_options)
  cli                 the command line (main)
  byte_sizes, errors  size and error texts, shared by several of the above

Adding a transport: a Transport subclass in transports.py (create the OS objects, hand each side
its Channel) and one entry in transport_registry.py (a worker pool's: a FanTransport in
fan_transports.py and an entry in FAN_TRANSPORTS).
"""
