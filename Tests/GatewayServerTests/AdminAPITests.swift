@testable import GatewayServer
import Foundation
import GatewayAuth
import GatewayChatClient
import GatewayCore
import GatewayJSON
import Testing

/// The admin API without a browser (docs/admin-api.md); the pages themselves are driven in
/// Chromium by BrowserTests.
@Suite struct AdminAPITests {
    private func adminToken(_ gateway: TestGateway) -> String {
        TokenMinter.hs256(secret: Array(TestGateway.secret.utf8), subject: "ops", principals: [], title: "Ops",
                          publish: false, ttlSeconds: 3600, now: Int(Date().timeIntervalSince1970), admin: true)
    }

    @Test func onlyAdminTokensGetIn() throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let user = gateway.token("alice", publish: true)
        #expect(try gateway.http("GET", "/api/v1/admin/overview").errorCode == "auth.missing_token")
        let refused = try gateway.http("GET", "/api/v1/admin/overview", token: user)
        #expect(refused.status == 403 && refused.errorCode == "admin.forbidden", "\(refused.text)")
        let admitted = try gateway.http("GET", "/api/v1/admin/overview", token: adminToken(gateway))
        #expect(admitted.status == 200, "\(admitted.text)")
        #expect(try gateway.http("GET", "/api/v1/admin/nothing-here", token: adminToken(gateway)).status == 404)
        #expect(try gateway.http("DELETE", "/api/v1/admin/overview", token: adminToken(gateway)).status == 405)
    }

    /// `[server] metrics_access`: public by default (Prometheus's habit); "admin" keeps the
    /// counters for admin tokens. curl is the client, as a scraper would be.
    @Test func metricsAreForAdminsWhenConfiguredSo() throws {
        let open = try TestGateway()
        defer { open.stop() }
        #expect(try Self.curl("http://127.0.0.1:\(open.port)/metrics").status == 200)

        let gateway = try TestGateway { $0.server.metricsAccess = .admin }
        defer { gateway.stop() }
        let url = "http://127.0.0.1:\(gateway.port)/metrics"
        let anonymous = try Self.curl(url)
        #expect(anonymous.status == 401 && anonymous.body.contains("auth.missing_token"), "\(anonymous.body)")
        let user = try Self.curl(url, token: gateway.token("alice"))
        #expect(user.status == 403 && user.body.contains("metrics.forbidden"), "\(user.body)")
        let admin = try Self.curl(url, token: adminToken(gateway))
        #expect(admin.status == 200 && admin.body.contains("gateway_connections"), "\(admin.body.prefix(200))")
        // /healthz stays open for load balancers.
        #expect(try Self.curl("http://127.0.0.1:\(gateway.port)/healthz").status == 200)
    }

    private static func curl(_ url: String, token: String? = nil) throws -> (status: Int, body: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-w", "\n%{http_code}", url] + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    @Test func adminClaimAndScopeAreConfigurable() throws {
        let gateway = try TestGateway {
            $0.auth.adminClaim = "roles"
            $0.auth.adminScope = "gateway-operator"
        }
        defer { gateway.stop() }
        let defaultAdmin = adminToken(gateway)  // "admin" in "scope": not what this gateway asks for
        #expect(try gateway.http("GET", "/api/v1/admin/plugins", token: defaultAdmin).status == 403)
        let operatorToken = TokenMinter.hs256(secret: Array(TestGateway.secret.utf8), subject: "ops", principals: [],
                                              title: nil, publish: false, ttlSeconds: 3600,
                                              now: Int(Date().timeIntervalSince1970), admin: true,
                                              adminClaim: "roles", adminScope: "gateway-operator")
        #expect(try gateway.http("GET", "/api/v1/admin/plugins", token: operatorToken).status == 200)
    }

    @Test func listsAndDisconnectsConnections() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let admin = adminToken(gateway)
        let bob = try await gateway.connect(gateway.token("bob"), headers: [("Origin", "https://chat.example")])
        let carol = try await gateway.connect(gateway.token("carol"))
        var page = try gateway.http("GET", "/api/v1/admin/connections", token: admin).json()
        for _ in 0..<50 where page.view["total"].int != 2 {
            try await Task.sleep(for: .milliseconds(20))  // registration follows the 101 write
            page = try gateway.http("GET", "/api/v1/admin/connections", token: admin).json()
        }
        #expect(page.view["total"].int == 2)
        let listed = page.view["connections"].elements
        #expect(listed.map { $0["principal"].string } == ["bob", "carol"])
        #expect(listed.first?["host"].string == "https://chat.example")
        #expect(listed.first?["queued_bytes"].int == 0)
        #expect(ISOTimestamp.isValid(listed.first?["connected_at"].string ?? ""))

        let overview = try gateway.http("GET", "/api/v1/admin/overview", token: admin).json().view
        #expect(overview["connections"]["total"].int == 2)
        #expect(overview["connections"]["per_host"].elements.map { $0["host"].string }.sorted { ($0 ?? "") < ($1 ?? "") }
                == ["https://chat.example", "localhost"])
        #expect(overview["history"]["events"].int != nil)
        #expect(overview["metrics"]["delivery_latency"]["buckets"].count > 0)

        let second = try gateway.http("GET", "/api/v1/admin/connections?offset=1&limit=1", token: admin).json().view
        #expect(second["connections"].elements.map { $0["principal"].string } == ["carol"])
        #expect(try gateway.http("GET", "/api/v1/admin/connections?limit=0", token: admin).errorCode == "admin.bad_page")

        let bobId = listed.first?["id"].int ?? -1
        let kicked = try gateway.http("POST", "/api/v1/admin/connections/\(bobId)/disconnect", token: admin)
        #expect(kicked.status == 200, "\(kicked.text)")
        guard case .close(let code, _) = try await bob.next(timeout: .seconds(5)) else {
            Issue.record("expected a close frame")
            return
        }
        #expect(code == 4000)
        let again = try gateway.http("POST", "/api/v1/admin/connections/\(bobId)/disconnect", token: admin)
        #expect(again.status == 404 && again.errorCode == "admin.unknown_connection")
        #expect(try gateway.http("POST", "/api/v1/admin/connections/x/disconnect", token: admin).status == 404)
        _ = carol
    }

    @Test func testEventIsRoutedWithTheAdminAsSource() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let bob = try await gateway.connect(gateway.token("bob"))
        // The server registers a connection right after its 101 response is written.
        for _ in 0..<100 where gateway.server.connectionCount < 1 { try await Task.sleep(for: .milliseconds(20)) }
        let sent = try gateway.http("POST", "/api/v1/admin/events", token: adminToken(gateway),
                                    headers: [("Content-Type", "application/json")],
                                    body: Array(#"{"category":"admin.test","message":"ping","target":{"principals":["bob"]}}"#.utf8))
        #expect(sent.status == 202, "\(sent.text)")
        let event = try await bob.nextJSON().view
        #expect(event["message"].string == "ping" && event["source"]["id"].string == "ops")
        let bad = try gateway.http("POST", "/api/v1/admin/events", token: adminToken(gateway), body: Array("{".utf8))
        #expect(bad.errorCode == "event.invalid_json")
    }

    @Test func togglesAPluginWithoutDroppingConnections() async throws {
        let gateway = try TestGateway { $0.plugins = [PluginFixtures.categoryTargets(["room.news": ["group:room"]])] }
        defer { gateway.stop() }
        let admin = adminToken(gateway)
        let member = try await gateway.connect(gateway.token("member", principals: ["group:room"]))
        for _ in 0..<100 where gateway.server.connectionCount < 1 { try await Task.sleep(for: .milliseconds(20)) }
        let app = gateway.token("app", publish: true)
        #expect(try gateway.publish(#"{"category":"room.news","message":"one"}"#, token: app).status == 202)
        #expect(try await member.nextJSON().view["message"].string == "one")

        let entry = gateway.config.plugins[0].name
        let json = [("Content-Type", "application/json")]
        let off = try gateway.http("POST", "/api/v1/admin/plugins/\(entry)", token: admin, headers: json,
                                   body: Array(#"{"enabled": false}"#.utf8))
        #expect(off.status == 200, "\(off.text)")
        #expect(try off.json().view["plugins"][0]["enabled"].bool == false)
        #expect(try gateway.publish(#"{"category":"room.news","message":"two"}"#, token: app).errorCode == "event.no_targets")

        let on = try gateway.http("POST", "/api/v1/admin/plugins/\(entry)", token: admin, headers: json,
                                  body: Array(#"{"enabled": true}"#.utf8))
        #expect(on.status == 200)
        #expect(try gateway.publish(#"{"category":"room.news","message":"three"}"#, token: app).status == 202)
        #expect(try await member.nextJSON().view["message"].string == "three", "the same connection, still open")

        let plugins = try gateway.http("GET", "/api/v1/admin/plugins", token: admin).json().view
        #expect(plugins[0]["name"].string == "category-targets")
        #expect((plugins[0]["calls"].int ?? 0) >= 2)

        let unknown = try gateway.http("POST", "/api/v1/admin/plugins/nope", token: admin, headers: json,
                                       body: Array(#"{"enabled": false}"#.utf8))
        #expect(unknown.status == 404 && unknown.errorCode == "admin.unknown_plugin")
        for body in [#"{}"#, #"{"enabled": "no"}"#, #"{"enabled": false, "persist": 1}"#, "not json"] {
            let refused = try gateway.http("POST", "/api/v1/admin/plugins/\(entry)", token: admin, headers: json, body: Array(body.utf8))
            #expect(refused.status == 400 && refused.errorCode == "admin.bad_request", "\(body)")
        }
        // Not started from a file: nothing to write back, and nothing changed.
        let persist = try gateway.http("POST", "/api/v1/admin/plugins/\(entry)", token: admin, headers: json,
                                       body: Array(#"{"enabled": false, "persist": true}"#.utf8))
        #expect(persist.status == 409 && persist.errorCode == "admin.config_not_editable")
        #expect(try gateway.publish(#"{"category":"room.news","message":"four"}"#, token: app).status == 202)
    }
}

/// The browser pages and the development login, over plain HTTP.
@Suite struct BrowserPagesTests {
    @Test func pagesAreServedWithTheirTypesAndAStrictPolicy() throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        for (path, type) in [("/", "text/html"), ("/admin", "text/html"), ("/ui/chat.js", "text/javascript"),
                             ("/ui/admin.js", "text/javascript"), ("/ui/common.js", "text/javascript"), ("/ui/style.css", "text/css")] {
            let response = try gateway.http("GET", path)
            #expect(response.status == 200, "\(path)")
            #expect(response.header("Content-Type")?.hasPrefix(type) == true, "\(path)")
            #expect(response.header("Content-Security-Policy")?.contains("default-src 'self'") == true, "\(path)")
            #expect(!response.body.isEmpty)
        }
        #expect(try gateway.http("GET", "/").text.contains("<script src=\"/ui/chat.js\""))
        #expect(try gateway.http("POST", "/").status == 405)
        #expect(try gateway.http("GET", "/ui/missing.js").errorCode == "http.not_found")
    }

    @Test func developmentLoginOnlyWithTheDevelopmentSecret() throws {
        let production = try TestGateway()  // TestGateway sets its own secret
        defer { production.stop() }
        #expect(try production.http("GET", "/api/v1/dev/login").json().view["enabled"].bool == false)
        let refused = try production.http("POST", "/api/v1/dev/login", body: Array(#"{"name":"mallory"}"#.utf8))
        #expect(refused.status == 403 && refused.errorCode == "auth.development_login_disabled")

        let development = try TestGateway { $0.auth.hs256Secret = nil }
        defer { development.stop() }
        #expect(try development.http("GET", "/api/v1/dev/login").json().view["enabled"].bool == true)
        let minted = try development.http("POST", "/api/v1/dev/login", body: Array(#"{"name":"Alice Smith"}"#.utf8))
        #expect(minted.status == 201, "\(minted.text)")
        let token = try minted.json().view["token"].string ?? ""
        let context = try development.http("GET", "/api/v1/context", token: token).json().view
        #expect(context["principal"]["id"].string == "alice-smith" && context["principal"]["title"].string == "Alice Smith")
        #expect(context["can_publish"].bool == true)
        #expect(try development.http("GET", "/api/v1/admin/overview", token: token).errorCode == "admin.forbidden")
        let asAdmin = try development.http("POST", "/api/v1/dev/login", body: Array(#"{"name":"ops","admin":true}"#.utf8))
        let adminToken = try asAdmin.json().view["token"].string ?? ""
        #expect(try development.http("GET", "/api/v1/admin/overview", token: adminToken).status == 200)
        for body in [#"{"name":""}"#, #"{"name":"<script>"}"#, #"{}"#, "[]", "nope", #"{"name":"\#(String(repeating: "a", count: 65))"}"#] {
            let bad = try development.http("POST", "/api/v1/dev/login", body: Array(body.utf8))
            #expect(bad.status == 400, "\(body): \(bad.text)")
        }
    }

    @Test func everyAssetFileIsServed() throws {
        let assets = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/GatewayWeb/Assets")
        let files = try FileManager.default.contentsOfDirectory(atPath: assets.path)
        let gateway = try TestGateway()
        defer { gateway.stop() }
        for file in files {
            let path = file.hasSuffix(".html") ? (file == "chat.html" ? "/" : "/" + file.dropLast(5)) : "/ui/" + file
            let served = try gateway.http("GET", String(path))
            #expect(served.status == 200, "\(file) is in Assets/ but not served at \(path): add it to WebAssets.byPath")
            #expect(served.body == Array(try Data(contentsOf: assets.appendingPathComponent(file))), "\(file)")
        }
    }
}

/// The Prometheus text the admin API reads its counters from.
@Suite struct MetricsSnapshotTests {
    @Test func readsSamplesLabelsAndEscapes() {
        let snapshot = MetricsSnapshot(text: """
            # TYPE gateway_events_in_total counter
            gateway_events_in_total{ingress="http"} 3
            gateway_events_in_total{ingress="websocket"} 5
            gateway_events_routed_total 8
            gateway_plugin_errors_total{plugin="a \\"quoted\\" name",hook="filter"} 2
            gateway_delivery_latency_seconds_bucket{le="+Inf"} 1.5e1
            broken{le="x 1
            """)
        #expect(snapshot.total("gateway_events_in_total") == 8)
        #expect(snapshot.total("gateway_events_in_total", where: ["ingress": "http"]) == 3)
        #expect(snapshot.totals("gateway_events_in_total", by: "ingress").map(\.key) == ["http", "websocket"])
        #expect(snapshot.total("gateway_plugin_errors_total", where: ["plugin": #"a "quoted" name"#]) == 2)
        #expect(snapshot.total("gateway_delivery_latency_seconds_bucket") == 15)
        #expect(snapshot.samples.count == 5)
    }
}
