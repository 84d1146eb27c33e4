// Offline delivery end to end: a real gateway, real messenger plugins (dlopen), a real SMTP server
// (aiosmtpd) and a real HTTP server, real WebSocket clients. No test asserts a duration: "not
// early" is shown by order (an event published later arrives first), "never" by a later event
// of the same batch having been handled.
import Foundation
import GatewayChatClient
import GatewayCore
import GatewayJSON
import Testing

@Suite(.serialized) struct OfflineDeliveryTests {
    private func gateway(_ folder: String, maxAttempts: Int = 3, plugins: [GatewayConfig.Plugin],
                         configure: (inout GatewayConfig) -> Void = { _ in }) throws -> TestGateway {
        try TestGateway(directory: folder + "/gateway") { config in
            quickOffline(&config, maxAttempts: maxAttempts, mailAlias: plugins.first?.name ?? "smtp")
            config.plugins = plugins
            configure(&config)
        }
    }

    @Test func anOfflineRecipientGetsTheEventByMail() async throws {
        let folder = try temporaryFolder("offline-mail")
        let smtp = try await offThread { try SMTPServerProcess(folder: folder) }
        defer { smtp.stop() }
        let gateway = try gateway(folder, plugins: [.smtp(port: smtp.port, name: "mail-offline")])
        defer { gateway.stop() }
        // Bob authenticated once (his token's email claim is remembered), then went away.
        let bob = gateway.token("bob", email: "bob@example.org")
        let mine = try gateway.http("GET", "/api/v1/me/messengers", token: bob)
        #expect(mine.status == 200)
        #expect(try JSON.parse(mine.text).view["messengers"]["mail-offline"].string == "bob@example.org")
        // Publishers never see other users' addresses: alice's own list is empty.
        let alice = gateway.token("alice", publish: true)
        #expect(try JSON.parse(gateway.http("GET", "/api/v1/me/messengers", token: alice).text).view["messengers"].members.isEmpty)

        let published = try gateway.publish(#"""
            {"category": "chat.direct", "title": "Lunch?", "message": "Are you free at noon?",
             "target": {"principals": ["bob"]}, "fallback": {"after": 1, "via": ["mail-offline"]}}
            """#, token: alice)
        #expect(published.status == 202, "\(published.text)")
        let mail = try await smtp.waitForMail { $0.contains("Are you free at noon?") }
        #expect(mail.contains("To: bob@example.org"))
        #expect(mail.contains("Subject: Lunch?"))
        #expect(mail.contains("From: gateway@example.org"))
        try await gateway.waitForMetric(#"gateway_messenger_deliveries_total{messenger="mail-offline",outcome="sent"}"#, atLeast: 1)
    }

    @Test func aRecipientWhoReadTheEventGetsNoMail() async throws {
        let folder = try temporaryFolder("offline-read")
        let smtp = try await offThread { try SMTPServerProcess(folder: folder) }
        defer { smtp.stop() }
        let gateway = try gateway(folder, plugins: [.smtp(port: smtp.port, name: "mail-read")])
        defer { gateway.stop() }
        let bob = gateway.token("bob", email: "bob@example.org")
        let carol = gateway.token("carol", email: "carol@example.org")
        let dave = gateway.token("dave")
        _ = try gateway.http("GET", "/api/v1/me/messengers", token: bob)
        _ = try gateway.http("GET", "/api/v1/me/messengers", token: carol)
        // Dave has no claim: he sets his address himself, then reads over WebSocket.
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/mail-read", token: dave, #"{"address": "dave@example.org"}"#).status == 200)
        let daveSocket = try await gateway.connect(dave)

        let alice = gateway.token("alice", publish: true)
        let published = try gateway.publish(#"""
            {"category": "chat.direct", "message": "read me", "target": {"principals": ["bob", "carol", "dave"]},
             "fallback": {"after": 2, "via": ["mail-read"]}}
            """#, token: alice)
        let id = try #require(try JSON.parse(published.text).view["id"].int)
        // Bob marks it read over HTTP, Dave with a read frame; Carol does nothing.
        #expect(try gateway.json("POST", "/api/v1/read", token: bob, #"{"id": \#(id)}"#).status == 204)
        #expect(try await daveSocket.nextJSON().view["id"].int == id)
        try await daveSocket.sendJSON(#"{"type": "read", "ref": "r1", "id": \#(id)}"#)
        #expect(try await daveSocket.nextJSON().view["type"].string == "ack")

        _ = try await smtp.waitForMail { $0.contains("To: carol@example.org") }
        try await gateway.waitForMetric(#"gateway_messenger_deliveries_total{messenger="mail-read",outcome="skipped"}"#, atLeast: 2)
        #expect(!smtp.mails().contains { $0.contains("To: bob@example.org") }, "bob read it: no mail")
        #expect(!smtp.mails().contains { $0.contains("To: dave@example.org") }, "dave read it: no mail")
        #expect(try gateway.json("POST", "/api/v1/read", token: bob, #"{"id": "x"}"#).status == 400)
    }

    @Test func theDefaultPolicyMailsOnlyRecipientsWhoWereOffline() async throws {
        let folder = try temporaryFolder("offline-policy")
        let smtp = try await offThread { try SMTPServerProcess(folder: folder) }
        defer { smtp.stop() }
        var policy = GatewayConfig.Policy()
        policy.category = "chat.direct"
        policy.when = "offline"
        policy.afterSeconds = 1
        policy.via = ["mail-policy"]
        let gateway = try gateway(folder, plugins: [.smtp(port: smtp.port, name: "mail-policy")]) { $0.offline.policies = [policy] }
        defer { gateway.stop() }
        let bob = gateway.token("bob", email: "bob@example.org")
        let carol = gateway.token("carol", email: "carol@example.org")
        let bobSocket = try await gateway.connect(bob)          // online
        _ = try gateway.http("GET", "/api/v1/me/messengers", token: carol)  // offline
        for _ in 0..<100 where gateway.server.connectionCount < 1 { try await Task.sleep(for: .milliseconds(20)) }

        let alice = gateway.token("alice", publish: true)
        #expect(try gateway.publish(#"{"category": "chat.direct", "message": "policy", "target": {"principals": ["bob", "carol"]}}"#,
                                    token: alice).status == 202)
        #expect(try await bobSocket.nextJSON().view["message"].string == "policy")
        _ = try await smtp.waitForMail { $0.contains("To: carol@example.org") }
        // Another category matches no policy: nobody is mailed.
        #expect(try gateway.publish(#"{"category": "chat.room", "message": "no policy", "target": {"principals": ["carol"]}}"#,
                                    token: alice).status == 202)
        try await gateway.waitForMetric(#"gateway_messenger_deliveries_total{messenger="mail-policy",outcome="sent"}"#, atLeast: 1)
        #expect(!smtp.mails().contains { $0.contains("To: bob@example.org") }, "bob was online")
    }

    @Test func aCountdownEventIsNotDeliveredEarlyAndCanBeCancelled() async throws {
        let folder = try temporaryFolder("offline-countdown")
        let gateway = try gateway(folder, plugins: [])
        defer { gateway.stop() }
        let bob = try await gateway.connect(gateway.token("bob"))
        for _ in 0..<100 where gateway.server.connectionCount < 1 { try await Task.sleep(for: .milliseconds(20)) }
        let alice = gateway.token("alice", publish: true)
        let mallory = gateway.token("mallory", publish: true)

        let held = try gateway.publish(#"{"category": "chat.direct", "message": "held", "countdown": 2, "target": {"principals": ["bob"]}}"#, token: alice)
        #expect(held.status == 202)
        let cancelled = try gateway.publish(#"{"category": "chat.direct", "message": "cancelled", "countdown": 2, "target": {"principals": ["bob"]}}"#, token: alice)
        let cancelledId = try #require(try JSON.parse(cancelled.text).view["id"].int)
        #expect(try gateway.http("DELETE", "/api/v1/events/\(cancelledId)", token: mallory).status == 403)
        #expect(try gateway.http("DELETE", "/api/v1/events/\(cancelledId)", token: alice).status == 204)
        #expect(try gateway.http("DELETE", "/api/v1/events/\(cancelledId)", token: alice).status == 404)
        #expect(try gateway.publish(#"{"category": "chat.direct", "message": "now", "target": {"principals": ["bob"]}}"#, token: alice).status == 202)
        // Published after the held one, due before it: arrives first. Then the held one; the
        // cancelled one (due with it) never comes, shown by a later held marker arriving next.
        #expect(try await bob.nextJSON().view["message"].string == "now")
        #expect(try await bob.nextJSON(timeout: .seconds(30)).view["message"].string == "held")
        #expect(try gateway.publish(#"{"category": "chat.direct", "message": "marker", "countdown": 1, "target": {"principals": ["bob"]}}"#, token: alice).status == 202)
        #expect(try await bob.nextJSON(timeout: .seconds(30)).view["message"].string == "marker")
        // A delivered event cannot be cancelled any more.
        let heldId = try #require(try JSON.parse(held.text).view["id"].int)
        #expect(try gateway.http("DELETE", "/api/v1/events/\(heldId)", token: alice).status == 404)
    }

    @Test func badInstructionsAreRefusedWithStableCodes() async throws {
        let folder = try temporaryFolder("offline-bad")
        let gateway = try gateway(folder, plugins: [.smtp(port: 9)])
        defer { gateway.stop() }
        let alice = gateway.token("alice", publish: true)
        func code(_ event: String) throws -> String? {
            try JSON.parse(gateway.publish(event, token: alice).text).view["error"]["code"].string
        }
        #expect(try code(#"{"category": "c", "target": {"principals": ["b"]}, "countdown": 0}"#) == "event.bad_countdown")
        #expect(try code(#"{"category": "c", "target": {"principals": ["b"]}, "countdown": "soon"}"#) == "event.bad_countdown")
        #expect(try code(#"{"category": "c", "target": {"principals": ["b"]}, "fallback": {"after": 1, "via": ["fax"]}}"#) == "event.unknown_messenger")
        #expect(try code(#"{"category": "c", "target": {"principals": ["b"]}, "fallback": {"after": -1, "via": ["smtp"]}}"#) == "event.bad_fallback")
        #expect(try code(#"{"category": "c", "target": {"principals": ["b"]}, "fallback": {"via": []}}"#) == "event.bad_fallback")
        let bob = gateway.token("bob")
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/smtp", token: bob, #"{"address": ""}"#).status == 400)
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/fax", token: bob, #"{"address": "x"}"#).status == 404)
        #expect(try gateway.json("PUT", "/api/v1/me/preferences", token: bob, #"{"opt_out": {"smtp": "all"}}"#).status == 400)
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/smtp", token: bob, #"{"address": "not json"#).status == 400)
        #expect(try gateway.http("GET", "/api/v1/me/messengers").status == 401)
    }

    @Test func aMessengerThatIsDownIsRetriedThenDeadLettered() async throws {
        let folder = try temporaryFolder("offline-down")
        let closedPort = try ChildProcess.freePort()  // nothing listens there
        let gateway = try gateway(folder, maxAttempts: 2, plugins: [.smtp(port: closedPort, name: "mail-down")])
        defer { gateway.stop() }
        let bob = gateway.token("bob", email: "bob@example.org")
        _ = try gateway.http("GET", "/api/v1/me/messengers", token: bob)
        let alice = gateway.token("alice", publish: true)
        #expect(try gateway.publish(#"{"category": "chat.direct", "message": "x", "target": {"principals": ["bob"]}, "fallback": {"after": 0, "via": ["mail-down"]}}"#,
                                    token: alice).status == 202)
        try await gateway.waitForMetric(#"gateway_messenger_deliveries_total{messenger="mail-down",outcome="dead_letter"}"#, atLeast: 1)
        #expect(try gateway.metric(#"gateway_messenger_deliveries_total{messenger="mail-down",outcome="retried"}"#) == 1)
        #expect(try gateway.metric(#"gateway_messenger_deliveries_total{messenger="mail-down",outcome="sent"}"#) == 0)
    }

    @Test func aBadAddressIsRefusedForGoodAndAnOptOutIsHonoured() async throws {
        let folder = try temporaryFolder("offline-address")
        let smtp = try await offThread { try SMTPServerProcess(folder: folder) }
        defer { smtp.stop() }
        let gateway = try gateway(folder, plugins: [.smtp(port: smtp.port, name: "mail-address")])
        defer { gateway.stop() }
        let bob = gateway.token("bob")
        let carol = gateway.token("carol")
        let erin = gateway.token("erin")
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/mail-address", token: bob, #"{"address": "not an address"}"#).status == 200)
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/mail-address", token: carol, #"{"address": "carol@example.org"}"#).status == 200)
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/mail-address", token: erin, #"{"address": "erin@example.org"}"#).status == 200)
        let optOut = try gateway.json("PUT", "/api/v1/me/preferences", token: erin, #"{"opt_out": {"mail-address": ["chat.direct"]}}"#)
        #expect(optOut.status == 200)
        #expect(try JSON.parse(optOut.text).view["opt_out"]["mail-address"].strings == ["chat.direct"])
        let alice = gateway.token("alice", publish: true)
        #expect(try gateway.publish(#"{"category": "chat.direct", "message": "hello", "target": {"principals": ["bob", "carol", "erin"]}, "fallback": {"after": 0, "via": ["mail-address"]}}"#,
                                    token: alice).status == 202)
        _ = try await smtp.waitForMail { $0.contains("To: carol@example.org") }
        try await gateway.waitForMetric(#"gateway_messenger_deliveries_total{messenger="mail-address",outcome="refused"}"#, atLeast: 1)
        try await gateway.waitForMetric(#"gateway_messenger_deliveries_total{messenger="mail-address",outcome="skipped"}"#, atLeast: 1)
        #expect(try gateway.metric(#"gateway_messenger_deliveries_total{messenger="mail-address",outcome="retried"}"#) == 0, "a bad address is not retried")
        #expect(smtp.mails().count == 1)
    }

    /// starttls = "required": the mail goes over STARTTLS (the server's certificate checked
    /// against ca_file), and to a server without TLS it is never sent in clear.
    @Test func mailGoesOverSTARTTLSAndNeverInClear() async throws {
        let folder = try temporaryFolder("offline-tls")
        let certificate = try await offThread { try makeSelfSignedCertificate(in: folder) }
        let secure = try await offThread { try SMTPServerProcess(folder: folder, tls: certificate) }
        defer { secure.stop() }
        let plain = try await offThread { try SMTPServerProcess(folder: folder) }
        defer { plain.stop() }
        func messenger(_ name: String, _ port: Int) -> GatewayConfig.Plugin {
            GatewayConfig.Plugin(name: name, library: "libSMTPMessenger.so", config: [
                ("url", .string("smtp://127.0.0.1:\(port)")), ("from", .string("gateway@example.org")),
                ("starttls", .string("required")), ("ca_file", .string(certificate.certificate)), ("timeout_seconds", .integer(10)),
            ])
        }
        let gateway = try gateway(folder, maxAttempts: 1, plugins: [messenger("mail-tls", secure.port), messenger("mail-clear", plain.port)])
        defer { gateway.stop() }
        let bob = gateway.token("bob")
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/mail-tls", token: bob, #"{"address": "bob@example.org"}"#).status == 200)
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/mail-clear", token: bob, #"{"address": "bob@example.org"}"#).status == 200)
        let alice = gateway.token("alice", publish: true)
        #expect(try gateway.publish(#"{"category": "c", "message": "over tls", "target": {"principals": ["bob"]}, "fallback": {"after": 0, "via": ["mail-tls", "mail-clear"]}}"#,
                                    token: alice).status == 202)
        _ = try await secure.waitForMail { $0.contains("over tls") }
        try await gateway.waitForMetric(#"gateway_messenger_deliveries_total{messenger="mail-clear",outcome="dead_letter"}"#, atLeast: 1)
        #expect(plain.mails().isEmpty, "required STARTTLS never falls back to clear text")
    }

    @Test func webhookPostsTheEventSignedAndTelegramSendsAMessage() async throws {
        let folder = try temporaryFolder("offline-http")
        let receiver = try await offThread { try RecordingHTTPServer(folder: folder) }
        defer { receiver.stop() }
        let secret = "a-webhook-secret-of-some-length"
        let gateway = try gateway(folder, plugins: [.webhook(port: receiver.port, secret: secret), .telegram(port: receiver.port)])
        defer { gateway.stop() }
        let bob = gateway.token("bob")
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/webhook", token: bob, #"{"address": "bob-42"}"#).status == 200)
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/telegram", token: bob, #"{"address": "123456"}"#).status == 200)
        let alice = gateway.token("alice", publish: true)
        #expect(try gateway.publish(#"{"category": "chat.direct", "title": "Ping", "message": "over http", "target": {"principals": ["bob"]}, "fallback": {"after": 0, "via": ["webhook", "telegram"]}}"#,
                                    token: alice).status == 202)
        let requests = try await receiver.waitForRequests(2)
        let hook = try #require(requests.first { $0.path == "/hook" })
        let body = try JSON.parse(hook.body)
        #expect(body.view["address"].string == "bob-42")
        #expect(body.view["event"]["message"].string == "over http")
        #expect(body.view["recipient"]["id"].string == "bob")
        let signature = try #require(hook.headers["x-gateway-signature"])
        let raw = hook.body
        let expected = try await offThread { try hmacSHA256Hex(secret: secret, body: raw) }
        #expect(signature == "sha256=" + expected)
        #expect(hook.headers["x-gateway-delivery"] == body.view["delivery_id"].string)
        let telegram = try #require(requests.first { $0.path == "/bot123:test-token/sendMessage" })
        let message = try JSON.parse(telegram.body)
        #expect(message.view["chat_id"].string == "123456")
        #expect(message.view["text"].string == "Ping\nover http")
    }

    @Test func anHTTPMessengerAnswering503IsRetriedThenDeadLettered() async throws {
        let folder = try temporaryFolder("offline-503")
        let receiver = try await offThread { try RecordingHTTPServer(folder: folder, status: 503) }
        defer { receiver.stop() }
        let gateway = try gateway(folder, maxAttempts: 2, plugins: [.webhook(port: receiver.port, secret: "another-secret-long-enough", name: "hook-503")])
        defer { gateway.stop() }
        let bob = gateway.token("bob")
        #expect(try gateway.json("PUT", "/api/v1/me/messengers/hook-503", token: bob, #"{"address": "bob"}"#).status == 200)
        let alice = gateway.token("alice", publish: true)
        #expect(try gateway.publish(#"{"category": "c", "message": "x", "target": {"principals": ["bob"]}, "fallback": {"after": 0, "via": ["hook-503"]}}"#,
                                    token: alice).status == 202)
        try await gateway.waitForMetric(#"gateway_messenger_deliveries_total{messenger="hook-503",outcome="dead_letter"}"#, atLeast: 1)
        let attempts = receiver.requests()
        #expect(attempts.count == 2)
        #expect(Set(attempts.compactMap { $0.headers["x-gateway-delivery"] }).count == 1, "a retry carries the same delivery id")
    }
}

/// HMAC-SHA256 computed by a tool we did not write (Python's hmac module).
func hmacSHA256Hex(secret: String, body: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())", secret]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(body.utf8))
    try input.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
}
