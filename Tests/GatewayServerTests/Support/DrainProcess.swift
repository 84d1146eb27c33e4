import Foundation

/// The real `gateway` binary in its own process, on a config written to a private folder.
final class DrainableGateway: Sendable {
    let folder: String
    let process = Process()
    let port: Int

    init(config: String) throws {
        let products = TestGateway.productsDirectory
        let binary = products + "/gateway"
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw TestFailure("build the gateway first: swift build") }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-process-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let text = """
        plugin_directory = "\(products)"
        \(config)
        """
        try text.write(toFile: folder + "/gateway.conf", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", folder + "/gateway.conf", "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        port = try readListeningPort(from: output, within: 20)
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

    var client: TestGatewayClient { TestGatewayClient(port: port) }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits (polling, up to `seconds`) for the process to exit; its status, or nil if it still runs.
    func waitForExit(seconds: Double) async throws -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return process.isRunning ? nil : process.terminationStatus
    }

}

/// A raw TCP connection to 127.0.0.1 for requests the test sends in pieces.
struct PartialRequest {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard Self.connect(fd, port: port) else {
            Glibc.close(fd)
            throw TestFailure("connect to 127.0.0.1:\(port) refused")
        }
    }

    static func connect(_ fd: Int32, port: Int) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Whether a new TCP connection to `port` is accepted right now.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        return connect(fd, port: port)
    }

    func send(_ text: String) throws { try RawHTTP.sendAll(fd, Array(text.utf8)) }

    /// Everything until the peer closes (or the receive timeout).
    func readToEnd() -> (bytes: [UInt8], closedByPeer: Bool) {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count == 0 { return (received, true) }
            if count < 0 { return (received, errno == ECONNRESET) }
            received.append(contentsOf: chunk[0..<count])
        }
    }

    func close() { _ = Glibc.close(fd) }
}
