import Foundation
import GatewayAuth
import GatewayChatClient
import GatewayJSON
import Testing

/// With `[hosts]`, a token uses only the hosts granted to its principals: publishing, reading
/// history (`?host=`) and connecting (`Origin`) elsewhere is 403 `host.forbidden`.
@Suite struct HostBoundaryTests {
    private func gateway() throws -> TestGateway {
        try TestGateway { config in
            config.hosts = ["http://a.example": ["*"], "http://b.example": ["group:b"]]
        }
    }

    @Test func publishingToAHostNotGrantedIs403() throws {
        let gateway = try gateway()
        defer { gateway.stop() }
        let app = gateway.token("app", publish: true)
        let bApp = gateway.token("b-app", principals: ["group:b"], publish: true)
        let event = { (host: String) in #"{"category":"c","message":"m","host":"\#(host)","target":{"principals":["x"]}}"# }
        #expect(try gateway.publish(event("http://a.example"), token: app).status == 202)
        for host in ["http://b.example", "http://unknown.example"] {
            let refused = try gateway.publish(event(host), token: app)
            #expect(refused.status == 403, "\(host): \(refused.text)")
            #expect(refused.errorCode == "host.forbidden")
        }
        #expect(try gateway.publish(event("http://b.example"), token: bApp).status == 202)
        // Origin chooses the host of an event that names none: the same rule.
        let viaOrigin = try gateway.http("POST", "/api/v1/events", token: app,
                                         headers: [("Content-Type", "application/json"), ("Origin", "http://b.example")],
                                         body: Array(#"{"category":"c","message":"m","target":{"principals":["x"]}}"#.utf8))
        #expect(viaOrigin.status == 403)
        #expect(viaOrigin.errorCode == "host.forbidden")
    }

    @Test func readingAnotherHostsHistoryIs403() throws {
        let gateway = try gateway()
        defer { gateway.stop() }
        let outsider = gateway.token("eve")
        let member = gateway.token("bob", principals: ["group:b"])
        let refused = try gateway.http("GET", "/api/v1/notifications?host=http://b.example", token: outsider)
        #expect(refused.status == 403)
        #expect(refused.errorCode == "host.forbidden")
        let viaOrigin = try gateway.http("GET", "/api/v1/notifications", token: outsider, headers: [("Origin", "http://b.example")])
        #expect(viaOrigin.status == 403)
        #expect(try gateway.http("GET", "/api/v1/notifications?host=http://b.example", token: member).status == 200)
        #expect(try gateway.http("GET", "/api/v1/notifications?host=http://a.example", token: outsider).status == 200)
    }

    @Test func connectingFromAnotherHostIsRefusedAndPublishingThereFromAConnectionToo() async throws {
        let gateway = try gateway()
        defer { gateway.stop() }
        do {
            _ = try await gateway.connect(gateway.token("eve"), headers: [("Origin", "http://b.example")])
            Issue.record("a connection from a host the token may not use was upgraded")
        } catch let refused as WebSocketUpgradeRefused {
            #expect(refused.status == 403)
            #expect((try? JSON.parse(refused.body))?.view["error"]["code"].string == "host.forbidden")
        }
        let client = try await gateway.connect(gateway.token("eve", publish: true), headers: [("Origin", "http://a.example")])
        try await client.sendJSON(#"{"type":"publish","ref":"p1","event":{"category":"c","message":"m","host":"http://b.example","target":{"principals":["x"]}}}"#)
        let answer = try await client.nextJSON()
        #expect(answer.view["type"].string == "error")
        #expect(answer.view["error"]["code"].string == "host.forbidden")
    }

    @Test func aNamelessPublisherCannotNameItself() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let bob = try await gateway.connect(gateway.token("bob"))
        let nameless = gateway.token("script", publish: true)
        let response = try gateway.publish(#"{"category":"c","message":"m","source":{"title":"Site Administrator"},"target":{"principals":["bob"]}}"#,
                                           token: nameless)
        #expect(response.status == 202, "\(response.text)")
        let event = try await bob.nextJSON()
        #expect(event.view["source"]["id"].string == "script")
        #expect(event.view["source"]["title"].isNull, "the title comes from the token only")
    }
}

/// `[auth] hosts_claim`: a token may carry the hosts it may use, with or without `[hosts]`.
@Suite struct HostsClaimTests {
    private let secret = Array(TestGateway.secret.utf8)

    /// A token whose `hosts` claim is an array (the space-separated string form is tested too).
    private func token(_ subject: String, principals: [String] = [], publish: Bool = false, hosts: [String]) throws -> String {
        let claims = TokenMinter.standardClaims(subject: subject, principals: principals, title: nil, publish: publish,
                                                ttlSeconds: 600, now: Int(Date().timeIntervalSince1970))
        claims.set("hosts", .strings(hosts))
        return try TokenMinter.sign(claims: claims, with: .hs256(secret: secret))
    }

    private func event(host: String?, message: String = "m") -> String {
        let field = host.map { #","host":"\#($0)""# } ?? ""
        return #"{"category":"c","message":"\#(message)","target":{"principals":["reader"]}\#(field)}"#
    }

    @Test func aTokenUsesOnlyTheHostsItCarriesWithoutAnyHostsTable() async throws {
        let gateway = try TestGateway { $0.auth.hostsClaim = "hosts" }
        defer { gateway.stop() }
        let siteA = try token("a-app", publish: true, hosts: ["http://a.example", "http://c.example"])
        let readerA = try token("reader-a", principals: ["reader"], hosts: ["http://a.example"])
        #expect(try gateway.publish(event(host: "http://a.example"), token: siteA).status == 202)
        #expect(try gateway.publish(event(host: "http://c.example"), token: siteA).status == 202)
        let elsewhere = try gateway.publish(event(host: "http://b.example"), token: siteA)
        #expect(elsewhere.status == 403)
        #expect(elsewhere.errorCode == "host.forbidden")
        let viaOrigin = try gateway.http("POST", "/api/v1/events", token: siteA,
                                         headers: [("Content-Type", "application/json"), ("Origin", "http://b.example")],
                                         body: Array(event(host: nil).utf8))
        #expect(viaOrigin.status == 403)
        #expect(viaOrigin.errorCode == "host.forbidden")
        // An event naming no host goes to the token's first host.
        #expect(try gateway.publish(event(host: nil, message: "no host named"), token: siteA).status == 202)

        // History: ?host= is limited the same way (history is written behind the publish: waited for).
        var readA = try gateway.http("GET", "/api/v1/notifications?host=http://a.example", token: readerA)
        for _ in 0..<100 where readA.status == 200 && !readA.text.contains("no host named") {
            try await Task.sleep(for: .milliseconds(100))
            readA = try gateway.http("GET", "/api/v1/notifications?host=http://a.example", token: readerA)
        }
        #expect(readA.status == 200)
        #expect(readA.text.contains("no host named"), "\(readA.text)")
        let readB = try gateway.http("GET", "/api/v1/notifications?host=http://b.example", token: readerA)
        #expect(readB.status == 403)
        #expect(readB.errorCode == "host.forbidden")

        // The space-separated form, and a reader of another site.
        let siteB = TokenMinter.hs256(secret: secret, subject: "b-reader", principals: ["reader"], title: nil, publish: false,
                                      ttlSeconds: 600, now: Int(Date().timeIntervalSince1970),
                                      extraClaims: ["hosts": "http://b.example"])
        #expect(try gateway.http("GET", "/api/v1/notifications?host=http://a.example", token: siteB).status == 403)
        let ownHistory = try gateway.http("GET", "/api/v1/notifications", token: siteB)
        #expect(ownHistory.status == 200)
        #expect(!ownHistory.text.contains("no host named"), "site B's reader saw site A's event: \(ownHistory.text)")

        // Present but empty: no host at all (fails closed).
        let nowhere = try token("nowhere", publish: true, hosts: [])
        #expect(try gateway.publish(event(host: nil), token: nowhere).status == 403)

        // A token without the claim is as before: a single-host deployment needs no new config.
        #expect(try gateway.publish(event(host: "http://b.example"), token: gateway.token("app", publish: true)).status == 202)
    }

    /// `gateway token --host` mints the claim the server reads (`[auth] hosts_claim`), and
    /// refuses to mint one the server would ignore.
    @Test func theTokenCommandMintsTheHostsClaim() throws {
        let gateway = try TestGateway { $0.auth.hostsClaim = "site_hosts" }
        defer { gateway.stop() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("token-command-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func mint(_ config: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
            try config.write(toFile: folder + "/gateway.conf", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: TestGateway.productsDirectory + "/gateway")
            process.arguments = ["token", "--config", folder + "/gateway.conf"] + arguments
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let outText = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, outText.trimmingCharacters(in: .whitespacesAndNewlines), errText)
        }
        let withClaim = "[auth]\nhs256_secret = \"\(TestGateway.secret)\"\nhosts_claim = \"site_hosts\"\n"
        let minted = try mint(withClaim, ["--sub", "a-app", "--publish", "--host", "http://a.example"])
        #expect(minted.status == 0, "\(minted.err)")
        #expect(try gateway.publish(event(host: "http://a.example"), token: minted.out).status == 202)
        #expect(try gateway.publish(event(host: "http://b.example"), token: minted.out).errorCode == "host.forbidden")

        let withoutClaim = "[auth]\nhs256_secret = \"\(TestGateway.secret)\"\n"
        let refused = try mint(withoutClaim, ["--sub", "a-app", "--host", "http://a.example"])
        #expect(refused.status == 2)
        #expect(refused.out.isEmpty)
        #expect(refused.err.contains("hosts_claim"), "\(refused.err)")
    }

    @Test func theClaimAndTheHostsTableMustBothAllowAHost() async throws {
        let gateway = try TestGateway { config in
            config.auth.hostsClaim = "hosts"
            config.hosts = ["http://a.example": ["*"], "http://b.example": ["group:b"]]
        }
        defer { gateway.stop() }
        // [hosts] grants b to group:b, but this token's claim names a only.
        let member = try token("bob", principals: ["group:b"], publish: true, hosts: ["http://a.example"])
        #expect(try gateway.publish(event(host: "http://a.example"), token: member).status == 202)
        #expect(try gateway.publish(event(host: "http://b.example"), token: member).errorCode == "host.forbidden")
        // The claim names b, but [hosts] does not grant b to this token's principals.
        let outsider = try token("eve", publish: true, hosts: ["http://b.example"])
        #expect(try gateway.publish(event(host: "http://b.example"), token: outsider).errorCode == "host.forbidden")
        // A WebSocket from another host is refused before the upgrade.
        do {
            _ = try await gateway.connect(member, headers: [("Origin", "http://b.example")])
            Issue.record("a connection from a host the token does not carry was upgraded")
        } catch let refused as WebSocketUpgradeRefused {
            #expect(refused.status == 403)
        }
    }

    @Test func principalsFromTheContextServiceKeepTheTokensHosts() throws {
        let service = try ContextServiceProcess(folder: ContextServiceTests.folder, users: [
            "users:dora": ["principals": ["users:dora", "groups:staff"]],
        ])
        defer { service.stop() }
        let gateway = try TestGateway { config in
            config.auth.hostsClaim = "hosts"
            config.auth.contextURL = service.url
        }
        defer { gateway.stop() }
        let dora = try token("users:dora", publish: true, hosts: ["http://a.example"])
        #expect(try gateway.publish(event(host: "http://a.example"), token: dora).status == 202)
        // The identity merged with the service's principals still carries the token's hosts.
        let elsewhere = try gateway.publish(event(host: "http://b.example"), token: dora)
        #expect(elsewhere.status == 403, "\(elsewhere.text)")
        #expect(elsewhere.errorCode == "host.forbidden")
    }
}
