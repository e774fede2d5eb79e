import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Child processes with a deadline: each runs in a process group of its own, its standard output
/// and error appended to a log file, and the whole group is killed when the deadline passes (a
/// compiler that never returns must not hang GraphFuse).
enum Subprocess {
  /// How one child ended.
  enum Outcome: Equatable {
    /// Exited with this status.
    case exited(Int32)
    /// Killed by this signal.
    case signaled(Int32)
    /// Still running at the deadline; its process group was killed.
    case timedOut
  }

  /// Seconds a compile may take: `$GRAPHFUSE_COMPILE_TIMEOUT`, default 300.
  static var compileTimeout: Double {
    let text = ProcessInfo.processInfo.environment["GRAPHFUSE_COMPILE_TIMEOUT"] ?? ""
    guard let seconds = Double(text), seconds > 0, seconds.isFinite else { return 300 }
    return seconds
  }

  /// Runs `commands` (program and arguments each) at the same time, every one's output appended
  /// to `log`, and waits for all of them or for `timeout` seconds. Throws when one cannot start.
  static func run(_ commands: [[String]], log: String, timeout: Double) throws(GraphFuseError) -> [Outcome] {
    var pids: [pid_t] = []
    var outcomes: [Outcome?] = []
    for command in commands {
      do {
        pids.append(try spawn(command, log: log))
        outcomes.append(nil)
      } catch {
        for pid in pids { stop(pid) }
        throw error
      }
    }
    let deadline = Date().addingTimeInterval(timeout)
    var pause: useconds_t = 200
    while outcomes.contains(nil) {
      for (i, pid) in pids.enumerated() where outcomes[i] == nil {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { outcomes[i] = decode(status) }
      }
      guard outcomes.contains(nil) else { break }
      if Date() >= deadline {
        for (i, pid) in pids.enumerated() where outcomes[i] == nil {
          stop(pid)
          outcomes[i] = .timedOut
        }
        break
      }
      usleep(pause)
      pause = min(pause * 2, 20_000)
    }
    return outcomes.map { $0 ?? .timedOut }
  }

  /// Runs one command and returns how it ended and its output (at most 64 KiB of it).
  static func output(_ command: [String], timeout: Double) throws(GraphFuseError) -> (Outcome, String) {
    let log = NSTemporaryDirectory() + "graphfuse_\(getpid())_\(UInt64.random(in: 0...UInt64.max)).log"
    defer { unlink(log) }
    let outcome = try run([command], log: log, timeout: timeout)[0]
    let data = FileManager.default.contents(atPath: log) ?? Data()
    return (outcome, String(decoding: data.prefix(1 << 16), as: UTF8.self))
  }

  /// Starts `command` in a new process group, output appended to `log`, input from /dev/null.
  private static func spawn(_ command: [String], log: String) throws(GraphFuseError) -> pid_t {
    #if canImport(Glibc)
      var attributes = posix_spawnattr_t()
      var actions = posix_spawn_file_actions_t()
    #else
      var attributes: posix_spawnattr_t?
      var actions: posix_spawn_file_actions_t?
    #endif
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    var status = posix_spawn(&pid, command[0], &actions, &attributes, argv, environ)
    // A program file just written can still be open for writing in a child that another thread is
    // forking (the descriptor is closed only when that child execs); Linux refuses to run it until
    // then (ETXTBSY), so try again for up to a second.
    var waited = 0
    while status == ETXTBSY, waited < 100 {
      usleep(10_000)
      waited += 1
      status = posix_spawn(&pid, command[0], &actions, &attributes, argv, environ)
    }
    guard status == 0 else {
      throw GraphFuseError("cannot run \(command[0]): \(String(cString: strerror(status)))", op: "compile")
    }
    return pid
  }

  /// Kills the process group of `pid` and reaps the child.
  private static func stop(_ pid: pid_t) {
    kill(-pid, SIGKILL)
    kill(pid, SIGKILL)
    var status: Int32 = 0
    _ = waitpid(pid, &status, 0)
  }

  /// The outcome of a `waitpid` status.
  private static func decode(_ status: Int32) -> Outcome {
    let signal = status & 0x7f
    return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
  }
}
