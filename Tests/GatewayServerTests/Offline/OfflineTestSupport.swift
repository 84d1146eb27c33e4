import Foundation
import GatewayAuth
import GatewayCore
import GatewayJSON

extension GatewayConfig.Plugin {
    static func smtp(port: Int, name: String = "smtp") -> GatewayConfig.Plugin {
        GatewayConfig.Plugin(name: name, library: "libSMTPMessenger.so", config: [
            ("url", .string("smtp://127.0.0.1:\(port)")), ("from", .string("gateway@example.org")),
            ("starttls", .string("off")), ("timeout_seconds", .integer(5)),
        ])
    }

    static func webhook(port: Int, secret: String, name: String = "webhook") -> GatewayConfig.Plugin {
        GatewayConfig.Plugin(name: name, library: "libWebhookMessenger.so", config: [
            ("url", .string("http://127.0.0.1:\(port)/hook")), ("secret", .string(secret)), ("timeout_seconds", .integer(5)),
        ])
    }

    static func telegram(port: Int) -> GatewayConfig.Plugin {
        GatewayConfig.Plugin(name: "telegram", library: "libTelegramMessenger.so", config: [
            ("bot_token", .string("123:test-token")), ("base_url", .string("http://127.0.0.1:\(port)")),
        ])
    }
}

extension GatewayEndpoint {
    /// A token whose `email` claim gives the smtp address ([offline] address_claims = ["smtp=email"]).
    func token(_ sub: String, email: String, publish: Bool = false) -> String {
        TokenMinter.hs256(secret: Array(TestGateway.secret.utf8), subject: sub, principals: [], title: nil,
                          publish: publish, ttlSeconds: 3600, now: Int(Date().timeIntervalSince1970),
                          extraClaims: ["email": email])
    }

    func json(_ method: String, _ path: String, token: String, _ body: String) throws -> RawHTTPResponse {
        try http(method, path, token: token, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
    }

    /// The value of one Prometheus sample ("name{a=\"b\"}"), 0 when absent.
    func metric(_ sample: String) throws -> Int {
        let text = try http("GET", "/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Int(Double(line.split(separator: " ").last ?? "0") ?? 0)
        }
        return 0
    }

    func waitForMetric(_ sample: String, atLeast value: Int, timeout: TimeInterval = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try metric(sample) >= value { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("\(sample) did not reach \(value) within \(Int(timeout)) s (now \(try metric(sample)))")
    }
}

/// A private folder per test.
func temporaryFolder(_ prefix: String) throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
}

/// The offline settings the tests use: quick polling and retries, so nothing waits minutes.
/// Metrics are per process and tests share it, so each test names its messenger differently
/// (the alias is a metric label) and the `email` claim is that alias's address.
func quickOffline(_ config: inout GatewayConfig, maxAttempts: Int = 3, mailAlias: String = "smtp") {
    config.offline.pollIntervalMilliseconds = 100
    config.offline.retryBaseSeconds = 1
    config.offline.retryMaxSeconds = 2
    config.offline.maxAttempts = maxAttempts
    config.offline.addressClaims = ["\(mailAlias)=email"]
}
