import Foundation
import GatewayCore
import GatewayJSON
import Testing

/// The issue's "Done when": the real pyams_chat 2.x from PyPI (in the venv scripts/install-deps.sh
/// makes) publishes with its own ChatMessage.send() to a real redis-server; `websockets` clients
/// on /ws/chat with the accessToken subprotocol receive what pyams_chat_ws would deliver; the
/// members of a group are known from the site's context service (context_server.py); pyams_chat's
/// get_notifications, unchanged, reads the list the gateway writes. pyams_end_to_end.py drives
/// pyams_chat and the clients and reports; this test judges.
@Suite struct PyamsEndToEndTests {
    static let venv = ProcessInfo.processInfo.environment["PYAMS_VENV"]
        ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/chat-gateway/pyams-venv").path
    static let site = "http://site.example"

    @Test func pyamsChatSendReachesTheRightClientsAndItsNotificationsList() async throws {
        let python = Self.venv + "/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("no pyams venv at \(Self.venv): run scripts/install-deps.sh (it installs pyams_chat from PyPI there)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pyams-e2e-\(UUID().uuidString)").path
        let redis = try RedisServerProcess(password: "site-secret")
        defer { redis.stop() }
        let bobPrincipals = ["users:bob", "system.Everyone", "system.Authenticated"]
        let context = try ContextServiceProcess(folder: folder, users: [
            "users:bob": ["principals": bobPrincipals, "title": "Bob"],
            "users:alice": ["principals": ["users:alice", "groups:staff", "system.Everyone"], "title": "Alice"],
            "users:dave": ["principals": ["users:dave", "groups:staff", "system.Everyone"], "title": "Dave"],
            "users:carol": ["principals": ["users:carol", "system.Everyone"], "title": "Carol"],
        ])
        defer { context.stop() }
        // What the README's "Replacing pyams_chat_ws" tells a site to write.
        let gateway = try TestGateway {
            $0.redis.enabled = true
            $0.redis.url = RedisEndpoint(port: redis.port, password: "site-secret", database: 2)
            $0.redis.channel = "chat:main"
            $0.redis.notificationsKey = "chat:notifications"
            $0.redis.notificationsLength = 50
            $0.auth.contextURL = context.url
            $0.auth.rejectClaims = ["obj=refresh"]
        }
        defer { gateway.stop() }

        // pyams_auth_jwt's tokens carry sub, iat, exp and obj, no principals.
        func token(_ user: String, ttl: Int = 3600) -> String { gateway.token("users:\(user)", ttl: ttl) }
        let settings: [String: Any] = [
            "ws_url": "ws://127.0.0.1:\(gateway.port)/ws/chat",
            "redis_url": "redis://:site-secret@127.0.0.1:\(redis.port)/2",
            "site": Self.site,
            "other_origin": "http://other.example",
            "tokens": ["alice": token("alice"), "bob": token("bob"), "carol": token("carol"), "dave": token("dave"),
                       "expired": token("bob", ttl: -3600)],
            "bob_principals": bobPrincipals,
        ]
        let settingsFile = folder + "/settings.json"
        try JSONSerialization.data(withJSONObject: settings).write(to: URL(fileURLWithPath: settingsFile))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("pyams_end_to_end.py").path
        let (status, output, errors) = try await offThread { try Self.run(python, [script, settingsFile], timeoutSeconds: 240) }
        #expect(status == 0, "pyams_end_to_end.py failed: \(errors)")
        let report = try JSON.parse(try #require(output.split(separator: "\n").last.map(String.init), "no report; stderr: \(errors)")).view

        for (name, chosen) in report["subprotocols"].members { #expect(chosen.string == "accessToken", "\(name)") }

        // 1. The direct message: Bob's client on the site's Origin gets it, as sent.
        let direct = report["direct"]
        #expect(direct["bob"].count == 1, "\(direct["bob"])")
        let message = direct["bob"][0]
        #expect(message["category"].string == "chat.direct")
        #expect(message["title"].string == "New comment")
        #expect(message["message"].string == "Alice commented your page")
        #expect(message["image"].string == "\(Self.site)/images/comment.png")
        #expect(message["url"].string == "\(Self.site)/pages/1#comments")
        #expect(message["host"].string == Self.site)
        #expect(message["channel"].string == "chat:main")
        #expect(message["modal"].bool == false)
        #expect(message["source"]["title"].string == "Alice")
        #expect(message["source"]["avatar"].string == "https://cdn.example.org/avatars/users:alice-128x128.png")
        // The sender is in the targets but neither of its sessions gets it; nor Bob elsewhere.
        for name in ["alice_1", "alice_2", "bob_other_origin", "dave", "carol"] {
            #expect(direct[name].count == 0, "\(name) got \(direct[name])")
        }

        // 2. The group message: Dave is in groups:staff only according to the context service.
        let group = report["group"]
        #expect(group["dave"].count == 1, "\(group["dave"])")
        #expect(group["dave"][0]["title"].string == "Staff meeting")
        for name in ["alice_1", "alice_2", "bob", "bob_other_origin", "carol"] {
            #expect(group[name].count == 0, "\(name) got \(group[name])")
        }

        // 3. pyams_chat's get_notifications for Bob: the direct message only, with its image and
        //    avatar (get_notifications itself removes source.id and target).
        let notifications = report["notifications"]
        #expect(notifications.count == 1, "\(notifications)")
        #expect(notifications[0]["title"].string == "New comment")
        #expect(notifications[0]["image"].string == "\(Self.site)/images/comment.png")
        #expect(notifications[0]["source"]["avatar"].string == "https://cdn.example.org/avatars/users:alice-128x128.png")

        // 4. The expired token: upgraded, the logout frame, closed 1008.
        #expect(report["expired_subprotocol"].string == "accessToken")
        #expect(report["expired_frame"]["action"].string == "logout")
        #expect(report["expired_frame"]["status"].string == "FORBIDDEN")
        #expect(report["expired_close"][0].int == 1008)
        #expect(report["expired_close"][1].string == "auth.expired")

        // Each token's principals were asked once.
        #expect(context.calls(for: "users:bob").count == 1)
    }

    /// Runs a program to its end (or kills it after `timeoutSeconds`): exit status, stdout, stderr.
    static func run(_ program: String, _ arguments: [String], timeoutSeconds: Double) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read both pipes while it runs: a full pipe would block the script.
        let outputData = DataCollector(output.fileHandleForReading), errorData = DataCollector(errors.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            process.terminate()
            for _ in 0..<100 where process.isRunning { usleep(50_000) }
            return (-1, outputData.text(), "timed out after \(Int(timeoutSeconds)) s; " + errorData.text())
        }
        return (process.terminationStatus, outputData.text(), errorData.text())
    }
}

/// Everything a pipe delivers, read on a thread of its own.
final class DataCollector: @unchecked Sendable {  // `data` is guarded by `lock`
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.withLock { data.append(chunk) }
            }
            done.signal()
        }
    }

    func text() -> String {
        _ = done.wait(timeout: .now() + 5)
        return lock.withLock { String(decoding: data, as: UTF8.self) }
    }
}
