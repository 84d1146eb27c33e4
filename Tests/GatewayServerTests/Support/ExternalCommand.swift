import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Another program run to its end (openssl, curl, the gateway binary refusing to start), with its
/// output and a bound on how long it may take.
struct ExternalCommand {
    struct Outcome {
        let status: Int32
        let output: String
        let errorOutput: String
    }

    /// Runs `arguments` (looked up on PATH); killed after `timeoutSeconds`, which is an error.
    static func run(_ arguments: [String], input: String? = nil, timeoutSeconds: Double = 60) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe(), stdin = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        // Read both pipes to their end on threads of their own, so a chatty program never blocks.
        let collected = Collected()
        let readers = DispatchGroup()
        for (pipe, isError) in [(output, false), (errors, true)] {
            readers.enter()
            Thread.detachNewThread {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, isError: isError)
                readers.leave()
            }
        }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestFailure("\(arguments.joined(separator: " ")) did not finish within \(Int(timeoutSeconds)) s")
        }
        process.waitUntilExit()
        _ = readers.wait(timeout: .now() + 10)
        return Outcome(status: process.terminationStatus, output: collected.output, errorOutput: collected.errorOutput)
    }

    /// @unchecked Sendable: each field written once by its reader thread under the lock.
    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var out = Data(), err = Data()
        func set(_ data: Data, isError: Bool) { lock.withLock { if isError { err = data } else { out = data } } }
        var output: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
        var errorOutput: String { lock.withLock { String(decoding: err, as: UTF8.self) } }
    }
}
