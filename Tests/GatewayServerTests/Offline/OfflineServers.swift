// Real servers the messengers talk to in the offline-delivery tests, each a child process:
// aiosmtpd (SMTP, from PyPI; scripts/install-deps.sh installs it) writing a Maildir, and a
// Python http.server recording every POST (webhook, Telegram Bot API).
import Foundation

/// Runs blocking work (process start-up, pipe reads) on a Dispatch thread: blocking a Swift
/// concurrency thread would starve the other tests running in parallel on a 2-core machine.
func offThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

/// A child process stopped with SIGTERM, then SIGKILL (polling: waitUntilExit can hang on Linux
/// when called from a Swift concurrency thread).
class ChildProcess: @unchecked Sendable {  // the Process is started once, then only signalled
    let process = Process()

    func stop() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        for _ in 0..<300 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
    }

    deinit { stop() }

    static func freePort() throws -> Int {
        let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
                bind(socket, raw, length) == 0 && getsockname(socket, raw, &length) == 0
            }
        }
        guard bound else { throw TestFailure("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func canConnect(port: Int) -> Bool {
        let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// aiosmtpd on a free port, delivering every mail into a Maildir.
final class SMTPServerProcess: ChildProcess, @unchecked Sendable {  // all `let`: see ChildProcess
    let port: Int
    let maildir: String

    /// `tls`: certificate and key (PEM) to offer STARTTLS with; aiosmtpd then refuses mail
    /// sent in clear (its --requiretls default).
    init(folder: String, tls: (certificate: String, key: String)? = nil) throws {
        port = try Self.freePort()
        maildir = folder + "/maildir-\(port)"
        super.init()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let tlsArguments = tls.map { ["--tlscert", $0.certificate, "--tlskey", $0.key] } ?? []
        process.arguments = ["python3", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(port)"] + tlsArguments
            + ["-c", "aiosmtpd.handlers.Mailbox", maildir]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<300 {  // Python starts slowly on a busy machine
            if Self.canConnect(port: port) { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TestFailure("aiosmtpd did not start on port \(port) (python3 -m pip install aiosmtpd; scripts/install-deps.sh does it)")
    }

    /// Every mail received so far, as raw RFC 5322 text.
    func mails() -> [String] {
        let folder = maildir + "/new"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.sorted().compactMap { try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8) }
    }

    /// Waits (generously) until a mail satisfies `matching`; returns it.
    func waitForMail(timeout: TimeInterval = 30, _ matching: (String) -> Bool) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let mail = mails().first(where: matching) { return mail }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("no matching mail within \(Int(timeout)) s; received: \(mails())")
    }
}

/// record_server.py: a real HTTP server recording each POST.
final class RecordingHTTPServer: ChildProcess, @unchecked Sendable {  // `port` is written in init only; see ChildProcess
    private(set) var port = 0
    let recordFile: String

    init(folder: String, status: Int = 200) throws {
        recordFile = folder + "/requests-\(UUID().uuidString).jsonl"
        super.init()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("record_server.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, recordFile, String(status)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = ""
        while !line.contains("\n") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            line += String(decoding: data, as: UTF8.self)
        }
        guard let number = line.split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            throw TestFailure("record_server.py did not report its port: '\(line)'")
        }
        port = number
    }

    struct Request { let path: String; let headers: [String: String]; let body: String }

    func requests() -> [Request] {
        guard let text = try? String(contentsOfFile: recordFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            let headers = (object["headers"] as? [String: String]) ?? [:]
            return Request(path: object["path"] as? String ?? "",
                           headers: Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a }),
                           body: object["body"] as? String ?? "")
        }
    }

    func waitForRequests(_ count: Int, timeout: TimeInterval = 30) async throws -> [Request] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let seen = requests()
            if seen.count >= count { return seen }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("expected \(count) request(s) within \(Int(timeout)) s, got \(requests().count)")
    }
}

/// A self-signed certificate for 127.0.0.1 (openssl req), for the STARTTLS test.
func makeSelfSignedCertificate(in folder: String) throws -> (certificate: String, key: String) {
    let certificate = folder + "/cert.pem", key = folder + "/key.pem"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw TestFailure("openssl req failed (\(process.terminationStatus))") }
    return (certificate, key)
}
