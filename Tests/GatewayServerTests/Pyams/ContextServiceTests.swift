import Foundation
import GatewayChatClient
import GatewayCore
import GatewayJSON
import Testing

/// `[auth] context_url`: a connection's principals come from the site's context service
/// (context_server.py, a real HTTP server process), asked with the user's token.
@Suite struct ContextServiceTests {
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("context-service-tests").path

    private func gateway(_ service: ContextServiceProcess?, url: String? = nil, timeout: Int = 5) throws -> TestGateway {
        try TestGateway {
            $0.auth.contextURL = url ?? service?.url
            $0.auth.contextTimeoutSeconds = timeout
        }
    }

    @Test func principalsFromTheServiceReachGroupTargetsAndAreAskedOncePerToken() async throws {
        let service = try ContextServiceProcess(folder: Self.folder, users: [
            "users:bob": ["principals": ["users:bob", "groups:staff", "system.Everyone"], "title": "Bob"],
            "users:carol": ["principals": ["users:carol", "system.Everyone"]],
            "users:alice": ["principals": ["users:alice"]],
        ])
        defer { service.stop() }
        let gateway = try gateway(service)
        defer { gateway.stop() }
        // The tokens carry no principals claim: groups can only come from the service.
        let bobToken = gateway.token("users:bob")
        async let first = gateway.connect(bobToken)
        async let second = gateway.connect(bobToken)
        let bobs = try await [first, second]
        let carol = try await gateway.connect(gateway.token("users:carol"))

        let published = try gateway.publish(#"{"category":"staff.news","message":"to staff","target":{"principals":["groups:staff"]}}"#,
                                            token: gateway.token("users:alice", publish: true))
        #expect(published.status == 202, "\(published.text)")
        for bob in bobs { #expect(try await bob.nextJSON().view["message"].string == "to staff") }
        try await carol.expectSilence()

        let context = try gateway.http("GET", "/api/v1/context", token: bobToken).json().view
        #expect(context["principal"]["principals"].strings == ["users:bob", "groups:staff", "system.Everyone"])
        #expect(context["principal"]["title"].string == "Bob")

        // Two connections opened at once and an HTTP request: one call for Bob's token, with
        // that token as the bearer.
        let bobCalls = service.calls(for: "users:bob")
        #expect(bobCalls.count == 1, "\(bobCalls.map(\.path))")
        #expect(bobCalls.first?.authorization == "Bearer \(bobToken)")
        #expect(bobCalls.first?.path == "/api/chat/context")
        // A new token of the same user is asked for again (the answer is per token).
        _ = try await gateway.connect(gateway.token("users:bob", ttl: 1800))
        #expect(service.calls(for: "users:bob").count == 2)
    }

    @Test func aSlowServiceIsCutAtTheTimeoutWithoutBlockingOtherRequests() async throws {
        let service = try ContextServiceProcess(folder: Self.folder, users: [
            "users:slow": ["principals": ["users:slow"], "delay": 8],
        ])
        defer { service.stop() }
        let gateway = try gateway(service, timeout: 1)
        defer { gateway.stop() }
        let slow = gateway.token("users:slow")
        for path in ["/ws", "/ws/chat"] {  // a slow service is not the token's fault: no logout frame
            do {
                _ = try await gateway.connect(slow, path: path)
                Issue.record("\(path) upgraded although the context service did not answer")
            } catch let refused as WebSocketUpgradeRefused {
                #expect(refused.status == 503)
                #expect(refused.body.contains("auth.context_timeout"), "\(refused.body)")
            }
        }
        let answer = try gateway.http("GET", "/api/v1/notifications", token: slow)
        #expect(answer.status == 503)
        #expect(answer.errorCode == "auth.context_timeout")
        #expect(answer.header("Retry-After") == "1")
        // The event loops were never blocked: health answers at once meanwhile.
        #expect(try gateway.http("GET", "/healthz").status == 200)
    }

    @Test func aServiceThatIsDownGives503() async throws {
        let gateway = try gateway(nil, url: "http://127.0.0.1:\(try ChildProcess.freePort())/api/chat/context")
        defer { gateway.stop() }
        let token = gateway.token("users:bob")
        do {
            _ = try await gateway.connect(token, path: "/ws/chat", subprotocols: ["accessToken", token])
            Issue.record("/ws/chat upgraded although the context service is down")
        } catch let refused as WebSocketUpgradeRefused {
            #expect(refused.status == 503)
            #expect(refused.body.contains("auth.context_unavailable"), "\(refused.body)")
        }
        let answer = try gateway.http("GET", "/api/v1/context", token: token)
        #expect(answer.status == 503)
        #expect(answer.errorCode == "auth.context_unavailable")
        // Requests that need no identity are not affected.
        #expect(try gateway.http("GET", "/healthz", token: token).status == 200)
    }

    @Test func aBadAnswerIsRefusedAndNotKept() async throws {
        let service = try ContextServiceProcess(folder: Self.folder, users: [
            "users:text": ["raw": "<html>not json</html>"],
            "users:shape": ["raw": #"{"status":"success","principal":{"id":"users:shape","principals":"groups:staff"}}"#],
            "users:error": ["status": 500],
        ])
        defer { service.stop() }
        let gateway = try gateway(service)
        defer { gateway.stop() }
        for sub in ["users:text", "users:shape"] {
            let token = gateway.token(sub)
            do {
                _ = try await gateway.connect(token)
                Issue.record("\(sub) connected with an unusable context answer")
            } catch let refused as WebSocketUpgradeRefused {
                #expect(refused.status == 502)
                #expect(refused.body.contains("auth.context_bad_answer"), "\(refused.body)")
            }
            // Failures are not kept: the next request asks again.
            #expect(try gateway.http("GET", "/api/v1/context", token: token).errorCode == "auth.context_bad_answer")
            #expect(service.calls(for: sub).count == 2)
        }
        let error = try gateway.http("GET", "/api/v1/context", token: gateway.token("users:error"))
        #expect(error.status == 503)
        #expect(error.errorCode == "auth.context_unavailable")
    }

    @Test func aTokenTheServiceRefusesGetsTheLogoutFrameOnWsChat() async throws {
        let service = try ContextServiceProcess(folder: Self.folder, users: [
            "users:gone": ["status": 403],
        ])
        defer { service.stop() }
        let gateway = try gateway(service)
        defer { gateway.stop() }
        let token = gateway.token("users:gone")
        let client = try await gateway.connect(nil, path: "/ws/chat", subprotocols: ["accessToken", token])
        let frame = try await client.nextJSON().view
        #expect(frame["action"].string == "logout")
        #expect(frame["status"].string == "FORBIDDEN")
        #expect(frame["code"].string == "auth.context_refused")
        do {
            _ = try await gateway.connect(token, path: "/ws")
            Issue.record("/ws upgraded with a token the context service refused")
        } catch let refused as WebSocketUpgradeRefused {
            #expect(refused.status == 401)
        }
        // A token the gateway itself refuses never reaches the service.
        _ = try? await gateway.connect(gateway.token("users:gone", ttl: -3600), path: "/ws")
        #expect(service.calls(for: "users:gone").count == 2)
    }
}
