import Foundation
import GatewayJSON
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `[server] tls_certificate_file` / `tls_private_key_file`: HTTPS and wss on the one port, with
/// certificates made by the openssl CLI and clients the gateway's authors did not write (curl,
/// Python `websockets`, openssl s_client). The real binary runs, so SIGHUP is the real reload.
@Suite struct TLSTests {
    @Test func curlAndPythonWebsocketsSpeakHTTPSAndWSSOnOnePort() async throws {
        let folder = try TLSFolder()
        let first = try folder.certificate("first", serial: "1001")
        let gateway = try GatewayProcess(serverLines: first.serverLines)
        defer { gateway.stop() }
        let health = try folder.curl(["https://127.0.0.1:\(gateway.port)/healthz"], trusting: first.certificate)
        #expect(health.status == 200, "\(health.body)")

        let listener = try WSSListener(url: "wss://127.0.0.1:\(gateway.port)/ws?token=\(gateway.token("alice"))",
                                       trusting: first.certificate, folder: folder.path)
        defer { listener.stop() }
        let greeting = try await listener.nextLine()
        #expect(greeting == "connected serial=1001", "\(greeting)")
        let published = try folder.curl(
            ["-X", "POST", "-H", "Content-Type: application/json", "-H", "Authorization: Bearer \(gateway.token("app", publish: true))",
             "--data", #"{"category":"c","message":"over TLS","target":{"principals":["alice"]}}"#,
             "https://127.0.0.1:\(gateway.port)/api/v1/events"],
            trusting: first.certificate)
        #expect(published.status == 202, "\(published.body)")
        let event = try JSON.parse(try await listener.nextLine())
        #expect(event.view["message"].string == "over TLS")
    }

    @Test func sighupServesAReplacedCertificateToNewConnectionsOnly() async throws {
        let folder = try TLSFolder()
        let first = try folder.certificate("first", serial: "1001")
        let second = try folder.certificate("second", serial: "2002")
        let bothTrusted = folder.path + "/both.pem"
        try (String(contentsOfFile: first.certificate, encoding: .utf8) + String(contentsOfFile: second.certificate, encoding: .utf8))
            .write(toFile: bothTrusted, atomically: true, encoding: .utf8)
        // The gateway reads the files under fixed names; the test replaces their content.
        let served = (certificate: folder.path + "/served-cert.pem", key: folder.path + "/served-key.pem")
        try folder.install(first, as: served)
        let gateway = try GatewayProcess(serverLines: "tls_certificate_file = \"\(served.certificate)\"\ntls_private_key_file = \"\(served.key)\"")
        defer { gateway.stop() }
        #expect(try folder.servedCertificate(port: gateway.port).contains("serial=1001"))
        let before = try WSSListener(url: "wss://127.0.0.1:\(gateway.port)/ws?token=\(gateway.token("bob"))",
                                     trusting: bothTrusted, folder: folder.path)
        defer { before.stop() }
        #expect(try await before.nextLine() == "connected serial=1001")

        try folder.install(second, as: served)
        kill(gateway.pid, SIGHUP)
        // New connections get the new certificate once the reload has run (waited for, not timed).
        var seen = ""
        for _ in 0..<100 {
            seen = try folder.servedCertificate(port: gateway.port)
            if seen.contains("serial=2002") { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(seen.contains("serial=2002") && seen.contains("CN=second"), "\(seen)")
        let health = try folder.curl(["https://127.0.0.1:\(gateway.port)/healthz"], trusting: second.certificate)
        #expect(health.status == 200, "curl trusting only the new certificate: \(health.body)")

        // The connection made before the reload keeps its session and still receives events.
        let published = try gateway.publishOverTLS(#"{"category":"c","message":"after reload","target":{"principals":["bob"]}}"#,
                                                   folder: folder, trusting: second.certificate)
        #expect(published.status == 202, "\(published.body)")
        let event = try JSON.parse(try await before.nextLine())
        #expect(event.view["message"].string == "after reload")

        // A broken replacement (the key of another certificate) is refused; the certificate in force stays.
        try FileManager.default.removeItem(atPath: served.key)
        try FileManager.default.copyItem(atPath: first.key, toPath: served.key)
        kill(gateway.pid, SIGHUP)
        try await Task.sleep(for: .seconds(1))
        #expect(try folder.servedCertificate(port: gateway.port).contains("serial=2002"))
    }

    @Test func plainHTTPOnTheTLSPortGetsA400InClearAndTheServerGoesOn() async throws {
        let folder = try TLSFolder()
        let first = try folder.certificate("first", serial: "1001")
        let gateway = try GatewayProcess(serverLines: first.serverLines)
        defer { gateway.stop() }
        for _ in 0..<20 {
            let plain = try RawSocket(port: gateway.port)
            #expect(plain.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
            let answer = try #require(await plain.readUntilClosed(seconds: 30), "plain HTTP on the TLS port kept its connection")
            let text = String(decoding: answer, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 400"), "\(text)")
            #expect(text.contains("tls.required"))
        }
        // Garbage that is neither, and a client that starts a handshake then stops: closed, no harm.
        let garbage = try RawSocket(port: gateway.port)
        #expect(garbage.send("\u{16}\u{03}\u{01}\u{00}\u{05}hello"))
        #expect(await garbage.readUntilClosed(seconds: 30) != nil, "a broken handshake kept its connection")
        let health = try folder.curl(["https://127.0.0.1:\(gateway.port)/healthz"], trusting: first.certificate)
        #expect(health.status == 200)
    }

    @Test func aMissingOrMismatchedCertificateStopsTheStartAndFailsTheCheckWithAStableCode() throws {
        let folder = try TLSFolder()
        let first = try folder.certificate("first", serial: "1001")
        let second = try folder.certificate("second", serial: "2002")
        let cases: [(lines: String, code: String)] = [
            ("tls_certificate_file = \"\(folder.path)/missing.pem\"\ntls_private_key_file = \"\(first.key)\"", "tls.certificate_unreadable"),
            ("tls_certificate_file = \"\(first.certificate)\"\ntls_private_key_file = \"\(folder.path)/missing.pem\"", "tls.private_key_unreadable"),
            ("tls_certificate_file = \"\(first.certificate)\"\ntls_private_key_file = \"\(first.certificate)\"", "tls.private_key_unreadable"),
            ("tls_certificate_file = \"\(first.certificate)\"\ntls_private_key_file = \"\(second.key)\"", "tls.key_mismatch"),
            ("tls_certificate_file = \"\(first.certificate)\"", "config.tls_incomplete"),
        ]
        for (lines, code) in cases {
            let config = folder.path + "/gateway-\(code).conf"
            try """
            [server]
            listen = "127.0.0.1:0"
            \(lines)
            [auth]
            hs256_secret = "\(TestGateway.secret)"
            [history]
            path = "history.sqlite"
            [attachments]
            directory = "attachments"
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let run = try ExternalCommand.run([TestGateway.productsDirectory + "/gateway", "run", "--config", config, "--log-level", "error"],
                                              timeoutSeconds: 120)
            #expect(run.status != 0, "\(code): the gateway started")
            #expect(run.errorOutput.contains(code), "expected \(code) in: \(run.errorOutput)")
            #expect(!run.output.contains("gateway listening"), "\(code): a port was opened")
            // `gateway check` finds the same problem without starting.
            let check = try ExternalCommand.run([TestGateway.productsDirectory + "/gateway", "check", "--config", config],
                                                timeoutSeconds: 120)
            #expect(check.status != 0, "\(code): gateway check passed")
            #expect(check.errorOutput.contains(code), "gateway check: expected \(code) in: \(check.errorOutput)")
        }
        let good = folder.path + "/gateway-good.conf"
        try "[server]\nlisten = \"127.0.0.1:0\"\n\(first.serverLines)\n[auth]\nhs256_secret = \"\(TestGateway.secret)\"\n"
            .write(toFile: good, atomically: true, encoding: .utf8)
        let check = try ExternalCommand.run([TestGateway.productsDirectory + "/gateway", "check", "--config", good], timeoutSeconds: 120)
        #expect(check.status == 0, "\(check.errorOutput)")
        #expect(check.output.contains("TLS certificate serial 1001"), "\(check.output)")
    }
}

/// A folder of certificates made with the openssl CLI, and the openssl/curl calls the tests make.
struct TLSFolder {
    let path: String

    struct Pair {
        let certificate: String
        let key: String
        var serverLines: String { "tls_certificate_file = \"\(certificate)\"\ntls_private_key_file = \"\(key)\"" }
    }

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A self-signed certificate for 127.0.0.1 with subject CN=`name` and the given hex serial.
    func certificate(_ name: String, serial: String) throws -> Pair {
        let pair = Pair(certificate: "\(path)/\(name)-cert.pem", key: "\(path)/\(name)-key.pem")
        let made = try ExternalCommand.run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", pair.key, "-out", pair.certificate, "-days", "2", "-subj", "/CN=\(name)", "-set_serial", "0x\(serial)",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        guard made.status == 0 else { throw TestFailure("openssl req failed: \(made.errorOutput)") }
        return pair
    }

    /// Copies a pair over the files the gateway was told to read (each file replaced whole).
    func install(_ pair: Pair, as served: (certificate: String, key: String)) throws {
        for (from, to) in [(pair.certificate, served.certificate), (pair.key, served.key)] {
            let staged = to + ".new"
            try? FileManager.default.removeItem(atPath: staged)
            try FileManager.default.copyItem(atPath: from, toPath: staged)
            guard rename(staged, to) == 0 else { throw TestFailure("rename \(staged) failed: errno \(errno)") }
        }
    }

    /// `serial=…` and `subject=…` of the certificate a new TLS connection to `port` is shown.
    func servedCertificate(port: Int) throws -> String {
        let shown = try ExternalCommand.run(["sh", "-c",
            "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -serial -subject -nameopt compat"])
        return shown.output
    }

    /// curl with only `trusting` as its CA; returns the HTTP status (0: no TLS or no answer) and body.
    func curl(_ arguments: [String], trusting certificate: String) throws -> (status: Int, body: String) {
        let run = try ExternalCommand.run(["curl", "-sS", "--max-time", "60", "--cacert", certificate,
                                           "-w", "\n%{http_code}"] + arguments)
        let lines = run.output.split(separator: "\n", omittingEmptySubsequences: false)
        let status = lines.last.flatMap { Int($0) } ?? 0
        return (status, lines.dropLast().joined(separator: "\n") + run.errorOutput)
    }
}

extension GatewayProcess {
    func publishOverTLS(_ event: String, folder: TLSFolder, trusting certificate: String) throws -> (status: Int, body: String) {
        try folder.curl(["-X", "POST", "-H", "Content-Type: application/json",
                         "-H", "Authorization: Bearer \(token("app", publish: true))", "--data", event,
                         "https://127.0.0.1:\(port)/api/v1/events"], trusting: certificate)
    }
}

/// A Python `websockets` client over wss (an ssl context trusting the given file): prints
/// "connected serial=<hex>" with the certificate it was shown, then every message, one per line.
/// @unchecked Sendable: the process and its pipe are used by one test.
final class WSSListener: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()
    private var buffered = ""

    private static let script = """
        import asyncio, ssl, sys
        import websockets

        async def main(url, cafile):
            context = ssl.create_default_context(cafile=cafile)
            async with websockets.connect(url, ssl=context, open_timeout=60) as ws:
                peer = ws.transport.get_extra_info("ssl_object").getpeercert()
                print("connected serial=" + peer["serialNumber"], flush=True)
                async for message in ws:
                    print(message, flush=True)

        asyncio.run(main(sys.argv[1], sys.argv[2]))
        """

    init(url: String, trusting certificate: String, folder: String) throws {
        let script = folder + "/wss_listener.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, url, certificate]
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// The next line the client printed (waits up to 60 s).
    func nextLine() async throws -> String {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let newline = buffered.firstIndex(of: "\n") {
                let line = String(buffered[..<newline])
                buffered.removeSubrange(...newline)
                return line
            }
            let fd = output.fileHandleForReading.fileDescriptor
            let chunk = await onOwnThread { () -> [UInt8]? in
                var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&ready, 1, 500) > 0 else { return [] }
                var bytes = [UInt8](repeating: 0, count: 4096)
                let count = read(fd, &bytes, bytes.count)
                return count > 0 ? Array(bytes[0..<count]) : nil
            }
            guard let chunk else { break }   // the client exited
            buffered += String(decoding: chunk, as: UTF8.self)
        }
        throw TestFailure("the Python wss client printed no further line; so far: \(buffered)")
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
