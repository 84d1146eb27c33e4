import Foundation
import GatewayChatClient
import GatewayCore
import GatewayJSON
import Testing

/// The message-type filter plugin in the real chain: chat_api's per-user message filter.
@Suite struct RecipientFilterTests {
    private func secretFilter() -> GatewayConfig.Plugin {
        PluginFixtures.messageTypeFilter([
            (key: "types", value: .array([.string("secret")])),
            (key: "allowed_principals", value: .array([.string("role:superuser")])),
            (key: "redact", value: .bool(true)),
            (key: "redact_fields", value: .table([(key: "message", value: .string("hidden"))])),
        ])
    }

    @Test func secretMessagesAreRedactedForOthersAndPlainOnesUntouched() async throws {
        let gateway = try TestGateway { $0.plugins = [secretFilter()] }
        defer { gateway.stop() }
        let boss = try await gateway.connect(gateway.token("boss", principals: ["role:superuser", "group:team"]))
        let member = try await gateway.connect(gateway.token("member", principals: ["group:team"]))
        let app = gateway.token("app", publish: true)

        #expect(try gateway.publish(#"{"category":"c","type":"secret","message":"the code is 42","target":{"principals":["group:team"]}}"#, token: app).status == 202)
        let atBoss = try await boss.nextJSON()
        let atMember = try await member.nextJSON()
        #expect(atBoss.view["message"].string == "the code is 42")
        #expect(atMember.view["message"].string == "hidden")
        #expect(atMember.view["redacted"].bool == true)
        #expect(atMember.view["id"].int == atBoss.view["id"].int)

        // A plain message: the filter's once-per-event check (ABI 1.1 on_filter_event) lets it
        // through unchanged to everyone.
        #expect(try gateway.publish(#"{"category":"c","message":"lunch?","target":{"principals":["group:team"]}}"#, token: app).status == 202)
        #expect(try await boss.nextJSON().view["message"].string == "lunch?")
        #expect(try await member.nextJSON().view["message"].string == "lunch?")

        // History applies the same filter.
        let history = try gateway.http("GET", "/api/v1/notifications", token: gateway.token("member", principals: ["group:team"]))
        let messages = try history.json().view["notifications"].elements.compactMap { $0["message"].string }
        #expect(messages == ["lunch?", "hidden"])
    }

    @Test func filterPlanSkipsEventsNoFilterConcerns() throws {
        let gateway = try TestGateway { $0.plugins = [secretFilter()] }
        defer { gateway.stop() }
        let chain = gateway.server.currentChain
        #expect(chain.hasRecipientFilters)
        let plain = try JSON.parse(#"{"category":"c","message":"x"}"#)
        let secret = try JSON.parse(#"{"category":"c","type":"secret","message":"x"}"#)
        #expect(chain.filterPlan(for: plain.view).isEmpty)
        #expect(!chain.filterPlan(for: secret.view).isEmpty)
    }
}
