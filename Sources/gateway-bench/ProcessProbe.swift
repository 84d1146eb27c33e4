import Foundation

/// CPU and memory readings of the client itself (getrusage) and of the server (/proc), so every
/// result shows whether the client or the server was the busy one.
enum ProcessProbe {
    static func selfCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static func selfRSSKilobytes() -> Int? {
        rssKilobytes(statusPath: "/proc/self/status")
    }

    /// utime + stime of `pid` in seconds, from /proc/PID/stat.
    static func cpuSeconds(pid: Int32) throws -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let commandEnd = stat.lastIndex(of: ")")
        else { throw BenchError.serverProcessUnreadable(pid: pid) }
        // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
        let fields = stat[stat.index(after: commandEnd)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw BenchError.serverProcessUnreadable(pid: pid)
        }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func rssKilobytes(pid: Int32) throws -> Int {
        guard let kilobytes = rssKilobytes(statusPath: "/proc/\(pid)/status") else {
            throw BenchError.serverProcessUnreadable(pid: pid)
        }
        return kilobytes
    }

    /// The most resident memory `pid` has had since it started (VmHWM, the kernel's high-water mark).
    static func peakRSSKilobytes(pid: Int32) throws -> Int {
        guard let kilobytes = rssKilobytes(statusPath: "/proc/\(pid)/status", field: "VmHWM:") else {
            throw BenchError.serverProcessUnreadable(pid: pid)
        }
        return kilobytes
    }

    /// Thousands of sockets need the soft open-file limit raised to the hard one (20,000 here).
    static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(limit.rlim_cur)
    }

    private static func rssKilobytes(statusPath: String, field: String = "VmRSS:") -> Int? {
        guard let status = try? String(contentsOfFile: statusPath, encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field) {
            return Int(line.dropFirst(field.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        return nil
    }

    private static func seconds(_ value: timeval) -> Double {
        Double(value.tv_sec) + Double(value.tv_usec) / 1e6
    }
}

/// CPU of client and server over one measured window.
struct CPUWindow {
    private let serverPid: Int32?
    private let clientStart: Double
    private let serverStart: Double?
    private let wallStart: UInt64

    init(serverPid: Int32?) throws {
        self.serverPid = serverPid
        clientStart = ProcessProbe.selfCPUSeconds()
        serverStart = try serverPid.map { try ProcessProbe.cpuSeconds(pid: $0) }
        wallStart = realtimeNanos()
    }

    /// Adds client_cpu_s, client_cpu_pct and, with a server pid, server_cpu_s / server_cpu_pct.
    /// With `deliveries`, also the CPU microseconds each delivery cost on either side: unlike
    /// deliveries/s, that figure holds on a machine shared with other work, since it counts only
    /// the CPU each process actually got.
    func report(into report: inout Report, deliveries: Int? = nil) {
        let wall = Double(realtimeNanos() - wallStart) / 1e9
        let client = ProcessProbe.selfCPUSeconds() - clientStart
        report.add("client_cpu_s", .double(client))
        report.add("client_cpu_pct", .double(100 * client / wall))
        let server = serverPid.flatMap { pid in serverStart.flatMap { start in (try? ProcessProbe.cpuSeconds(pid: pid)).map { $0 - start } } }
        report.add("server_cpu_s", server.map { .double($0) } ?? .null)
        report.add("server_cpu_pct", server.map { .double(100 * $0 / wall) } ?? .null)
        guard let deliveries, deliveries > 0 else { return }
        report.add("client_us_per_delivery", .double(client * 1e6 / Double(deliveries)))
        report.add("server_us_per_delivery", server.map { .double($0 * 1e6 / Double(deliveries)) } ?? .null)
    }
}
