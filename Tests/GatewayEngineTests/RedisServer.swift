import Foundation

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// redis-server as a child process on a free port, without persistence; it can be stopped and
/// started again on the same port (a Redis restart, which loses everything).
// @unchecked: `process` is replaced by start() and read by stop(), which the one test owning it calls in turn.
final class RedisServer: @unchecked Sendable {
    let port: Int
    private var process: Process?
    private let extraArguments: [String]

    init(arguments: [String] = []) throws {
        port = RestartablePort.pick()
        extraArguments = arguments
        try start()
    }

    func start() throws {
        guard let server = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: FileManager.default.isExecutableFile) else {
            throw TestFailure("redis-server is not installed (apt-get install redis-server; .ci/run does it)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: server)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<600 {  // 30 s: a busy machine can take seconds to start it and answer
            // With --requirepass the answer is NOAUTH: started all the same.
            if let answer = try? command(["PING"]), answer == "PONG" || answer.contains("NOAUTH") { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestFailure("redis-server did not start on port \(port)")
    }

    /// redis-cli's answer, trimmed (several lines for arrays).
    @discardableResult
    func command(_ arguments: [String]) throws -> String {
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        cli.arguments = ["-p", String(port)] + arguments
        let output = Pipe()
        cli.standardOutput = output
        cli.standardError = FileHandle.nullDevice
        try cli.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        cli.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// SIGTERM, then SIGKILL after 3 s; polls rather than waitUntilExit (which can hang when
    /// called from a Swift concurrency thread on Linux).
    func stop() {
        guard let process else { return }
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<300 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for _ in 0..<300 where process.isRunning { usleep(10_000) }
        self.process = nil
    }
}

/// Polls `condition` until it holds; generous bound, only to not hang forever.
func eventually(_ what: String, within seconds: Double = 30, _ condition: () throws -> Bool) throws {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while Date() < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.02)
    }
    throw TestFailure("timed out waiting for: \(what)")
}
