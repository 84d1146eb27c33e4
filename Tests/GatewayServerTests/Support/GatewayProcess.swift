import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real `gateway` binary in its own process, so a test can look at what the kernel says about
/// it (/proc/PID/status for memory, /proc/PID/fd for open files) while clients attack it.
final class GatewayProcess: GatewayEndpoint, Sendable {
    let process = Process()
    let port: Int
    let directory: String
    var pid: Int32 { process.processIdentifier }

    /// `serverLines` go into `[server]`; `extra` is appended to the config file.
    /// `openFileLimit` starts the process under `ulimit -n`.
    init(serverLines: String = "", extra: String = "", openFileLimit: Int? = nil) throws {
        let products = TestGateway.productsDirectory
        let binary = products + "/gateway"
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw TestFailure("build the gateway first: swift build") }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-process-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configPath = directory + "/gateway.conf"
        try """
        plugin_directory = "\(products)"
        [server]
        listen = "127.0.0.1:0"
        event_loops = 2
        \(serverLines.contains("handshake_timeout_seconds") ? "" : "handshake_timeout_seconds = 120")
        \(serverLines)
        [auth]
        hs256_secret = "\(TestGateway.secret)"
        [history]
        path = "history.sqlite"
        [attachments]
        directory = "attachments"
        \(extra)
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        let limit = openFileLimit.map { "ulimit -n \($0) && " } ?? ""
        process.arguments = ["-c", "\(limit)exec \"$0\" run --config \"$1\" --log-level error", binary, configPath]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        port = try readListeningPort(from: output, within: 30)
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Resident memory in bytes (VmRSS).
    func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw TestFailure("no VmRSS in /proc/\(pid)/status")
        }
        return kilobytes * 1024
    }

    func openFiles() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    /// CPU time (user + system) in clock ticks so far.
    func cpuTicks() throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the ")" that ends the command name; utime and stime are fields 14 and 15.
        guard let close = stat.lastIndex(of: ")") else { throw TestFailure("bad /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

}

/// Runs blocking socket work on a thread of its own, so that it does not hold one of the few
/// cooperative threads the tests running beside it need.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// A raw TCP client socket for attacks: non-blocking sends, never reads unless asked.
final class RawSocket: Sendable {
    let fd: Int32

    /// `source`: the local address to connect from (another loopback address is another client
    /// address to the gateway).
    init(port: Int, receiveBuffer: Int? = nil, source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                Glibc.close(fd)
                throw TestFailure("bind to \(source) failed: errno \(errno)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw TestFailure("connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { Glibc.close(fd) }

    /// Sends `bytes` again and again until the peer stops taking them for `stallSeconds`, or
    /// `limit` bytes went out. Returns the bytes sent.
    @discardableResult
    func sendUntilStalled(_ bytes: [UInt8], limit: Int, stallSeconds: Double = 1.5) -> Int {
        var total = 0
        var offset = 0
        var stalledSince: Date?
        while total < limit {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                total += sent
                offset = (offset + sent) % bytes.count
                stalledSince = nil
            } else if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                let since = stalledSince ?? Date()
                stalledSince = since
                if Date().timeIntervalSince(since) > stallSeconds { break }
                usleep(10_000)
            } else {
                break
            }
        }
        return total
    }

    func sendUntilStalled(_ bytes: [UInt8], limit: Int, stallSeconds: Double = 1.5) async -> Int {
        await onOwnThread { self.sendUntilStalled(bytes, limit: limit, stallSeconds: stallSeconds) }
    }

    func readUntilClosed(seconds: Double) async -> [UInt8]? {
        await onOwnThread { self.readUntilClosed(seconds: seconds) }
    }

    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Waits up to `seconds` for the peer to close; returns what it sent before closing, or nil
    /// when it is still open at the deadline.
    func readUntilClosed(seconds: Double) -> [UInt8]? {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count == 0 { return received }
            if count > 0 { received.append(contentsOf: chunk[0..<count]); continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { usleep(20_000); continue }
            return received   // ECONNRESET and the like: closed too.
        }
        return nil
    }
}
