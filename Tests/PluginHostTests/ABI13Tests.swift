// ABI 1.3 on the host side: publish guards (skip, accept, rewrite, refuse, error, in chain
// order), the room member states applied after them, responders, and 1.2 plugins still loading.
import Foundation
import GatewayCore
import GatewayJSON
import Testing

@Suite struct ABI13Tests {
    private func guardEntry(_ name: String, _ mode: String, library: String = "libguard.so") -> GatewayConfig.Plugin {
        Fixtures.entry(name, library, [("mode", .string(mode))])
    }

    private func event() throws -> JSON {
        try JSON.parse(#"{"id": 7, "category": "chat.message", "message": "hi", "source": {"id": "alice", "title": "Alice"}, "host": "localhost", "target": {"rooms": ["r1"]}, "timestamp": "2026-12-01T06:00:00.000Z"}"#)
    }

    private let alice = Publisher(id: "alice", title: "Alice", principals: ["alice", "group:staff"])

    private func membership(_ state: RoomMember.State, _ permissions: Set<RoomMember.Permission> = [.read, .write]) -> [RoomMembership] {
        [RoomMembership(room: "r1", member: RoomMember(id: "alice", state: state, permissions: permissions))]
    }

    private func refusal(_ outcome: PluginGuardOutcome) -> GatewayError? {
        if case .refused(let error) = outcome { return error }
        return nil
    }

    @Test func guardsCombineInChainOrder() throws {
        let metrics = RecordingMetrics()
        let chain = try Fixtures.chain([guardEntry("quiet", "skip"), guardEntry("flow", "accept"), guardEntry("mod", "refuse"),
                                        guardEntry("old", "refuse_uncoded"), guardEntry("buggy", "error")], metrics: metrics)
        #expect(chain.hasPublishGuards && chain.hasResponders && !chain.guardsMayBlock)
        #expect(chain.plugins[0].capabilities == ["publish_guard", "responder"] && chain.plugins[0].abiMinor == 4)

        let refused = try #require(refusal(chain.guardPublish(try event(), publisher: alice, memberships: [], ingress: .websocket)))
        #expect(refused.code == "fixture.refused" && refused.status == 422 && refused.message == "no thanks")
        #expect(metrics.total("gateway_plugin_calls_total", [("plugin", "old"), ("hook", "guard")]) == 0,
                "a refusal stops the chain: later guards are not asked")

        let skipOnly = try Fixtures.chain([guardEntry("quiet", "skip")])
        guard case .passed(let routed, let accepted) = skipOnly.guardPublish(try event(), publisher: alice, memberships: [], ingress: .http) else {
            Issue.record("a skipping guard refused"); return
        }
        #expect(!accepted && routed.view["message"].string == "hi")
        let accepting = try Fixtures.chain([guardEntry("quiet", "skip"), guardEntry("flow", "accept")])
        guard case .passed(_, let vouched) = accepting.guardPublish(try event(), publisher: alice, memberships: [], ingress: .http) else {
            Issue.record("an accepting guard refused"); return
        }
        #expect(vouched)

        let uncoded = try Fixtures.chain([guardEntry("old", "refuse_uncoded")])
        let plain = try #require(refusal(uncoded.guardPublish(try event(), publisher: alice, memberships: [], ingress: .http)))
        #expect(plain.code == "event.refused" && plain.status == 403 && plain.message == "just no")

        let buggy = try Fixtures.chain([guardEntry("buggy", "error")], metrics: metrics)
        let failed = try #require(refusal(buggy.guardPublish(try event(), publisher: alice, memberships: [], ingress: .http)))
        #expect(failed.code == "event.guard_failed" && failed.status == 500, "a failing guard fails closed")
        #expect(metrics.total("gateway_plugin_errors_total", [("plugin", "buggy"), ("hook", "guard")]) == 1)
    }

    @Test func aRewriteChangesWhatTheEventSaysButNotWhoSentItOrWhereItGoes() throws {
        let chain = try Fixtures.chain([guardEntry("checker", "rewrite"), guardEntry("checker2", "rewrite")])
        guard case .passed(let routed, let accepted) = chain.guardPublish(try event(), publisher: alice, memberships: [], ingress: .http) else {
            Issue.record("a rewrite was refused"); return
        }
        #expect(accepted)
        #expect(routed.view["message"].string == "[checked] [checked] hi", "the second guard sees the first one's rewrite")
        #expect(routed.view["id"].int == 7 && routed.view["source"]["id"].string == "alice")
        #expect(routed.view["target"]["rooms"].strings == ["r1"] && routed.view["target"]["principals"].strings == nil)
        #expect(routed.view["host"].string == "localhost" && routed.view["timestamp"].string == "2026-12-01T06:00:00.000Z")
    }

    @Test func aGuardSeesThePublisherItsMembershipsAndTheIngress() throws {
        let chain = try Fixtures.chain([guardEntry("echo", "echo")])
        let seen = try #require(refusal(chain.guardPublish(try event(), publisher: alice, memberships: membership(.scripted),
                                                           ingress: .websocket)))
        #expect(seen.code == "fixture.echo" && seen.status == 400)
        #expect(seen.message == #"alice websocket [{"permissions":["read","write"],"room":"r1","state":"scripted"}]"#)
    }

    @Test func memberStatesAreAppliedAfterTheGuards() throws {
        let steps = GuardStep()
        let none = try Fixtures.chain([])
        let accepting = try Fixtures.chain([guardEntry("flow", "accept")])
        func run(_ chain: PluginChain, _ memberships: [RoomMembership], trusted: Bool = false) -> String {
            let publisher = Publisher(id: "alice", title: nil, principals: ["alice"], trusted: trusted)
            do throws(GatewayError) {
                _ = try steps.run(try! event(), chain: chain, publisher: publisher, memberships: memberships, ingress: .http)
                return "routed"
            } catch {
                return error.code
            }
        }
        #expect(run(none, membership(.open)) == "routed")
        #expect(run(none, membership(.closed)) == "room.write_forbidden")
        #expect(run(accepting, membership(.closed)) == "room.write_forbidden", "no guard opens a closed membership")
        #expect(run(none, membership(.open, [.read])) == "room.write_forbidden")
        #expect(run(none, membership(.scripted)) == "room.member_scripted", "no flow vouches for the answer")
        #expect(run(accepting, membership(.scripted)) == "routed", "a guard that accepts vouches for a scripted answer")
        let refusing = try Fixtures.chain([guardEntry("mod", "refuse")])
        #expect(run(refusing, membership(.open)) == "fixture.refused")
        #expect(run(refusing, [], trusted: true) == "routed", "events from Redis or a plugin are not guarded")
    }

    @Test func aGuardThatMayBlockIsKnownToTheChain() throws {
        let chain = try Fixtures.chain([guardEntry("slow", "skip", library: "libguard-blocking.so")])
        #expect(chain.guardsMayBlock)
    }

    @Test func respondersSeeRoutedEventsAndHostPublishNeedsARunningGateway() throws {
        let metrics = RecordingMetrics()
        let chain = try Fixtures.chain([guardEntry("bot", "bot")], metrics: metrics)
        chain.routed(try event().view)
        #expect(metrics.total("gateway_plugin_calls_total", [("plugin", "bot"), ("hook", "routed")]) == 1)
        // No server attached this PluginHost's services: publish() answers host.not_running,
        // which the fixture turns into GW_ERROR — logged and counted, nothing else.
        #expect(metrics.total("gateway_plugin_errors_total", [("plugin", "bot"), ("hook", "routed")]) == 1)
    }

    @Test func aPluginBuiltForABI12StillLoadsNextTo13() throws {
        let info = try PluginInspector.inspect(path: try Fixtures.path("libmessenger.so")).get()
        #expect(info.abiMajor == 1 && info.abiMinor == 2)
        let chain = try Fixtures.chain([Fixtures.entry("mail", "libmessenger.so", [("outcome", .string("sent"))]),
                                        guardEntry("flow", "accept")])
        #expect(chain.messengerAliases == ["mail"] && chain.hasPublishGuards)
    }
}
