// category-targets loaded from its real .so: pyams_chat's handlers as configuration.
import CGatewayPlugin
import Foundation
import GatewayJSON
import Synchronization
import Testing

@Suite("category-targets plugin")
struct CategoryTargetsTests {
    let plugin: PluginLibrary
    init() throws { plugin = try PluginLibrary.load("CategoryTargets") }

    func principals(_ answer: HookAnswer) -> [String]? { answer.principals }

    @Test("a category mapped to principals targets them (pyams_chat's pyams.test handler)")
    func fixedPrincipals() throws {
        let instance = try plugin.instance(#"{"categories": {"pyams.test": ["test:user"]}}"#, host: TestHost())
        defer { instance.destroy() }
        let answer = try instance.targets(#"{"action": "notify", "category": "pyams.test", "source": {"id": "system:admin"}}"#)
        #expect(answer.result == gw_result(GW_OK))
        #expect(principals(answer) == ["test:user"])
        let output = try #require(answer.output)
        // The hook handed over a NEW reference: ours is the only one left.
        #expect(referenceCount(output) == 1)
        #expect(output.encodedString() == #"{"principals":["test:user"]}"#)
    }

    @Test("categories without a rule, or events without a category, are skipped")
    func unknownCategorySkips() throws {
        let instance = try plugin.instance(#"{"categories": {"pyams.test": ["test:user"]}}"#, host: TestHost())
        defer { instance.destroy() }
        for event in [#"{"category": "other"}"#, #"{"action": "notify"}"#, #"{"category": 42}"#] {
            let answer = try instance.targets(event)
            #expect(answer.result == gw_result(GW_SKIP), "event \(event)")
            #expect(answer.output == nil)
        }
    }

    @Test("user.login targets system:admin plus the site managers by default (pyams_chat's login handler)")
    func userLoginDefault() throws {
        let host = TestHost()
        let instance = try plugin.instance(#"{"site_managers": ["group:managers", "alice"]}"#, host: host)
        defer { instance.destroy() }
        let answer = try instance.targets(#"{"category": "user.login", "source": {"id": "test:user"}}"#)
        #expect(answer.result == gw_result(GW_OK))
        #expect(principals(answer) == ["system:admin", "group:managers", "alice"])
        // create() logged through the host services table, attributed to this instance's context.
        #expect(host.logLines.contains { $0.level == GW_LOG_INFO && $0.text.contains("user.login") })
    }

    @Test("user.login can be overridden and the admin principal changed")
    func userLoginOverride() throws {
        let instance = try plugin.instance(
            #"{"admin_principal": "root", "categories": {"user.login": "site-managers", "x": {"site_managers": true, "principals": ["bob"]}}}"#,
            host: TestHost())
        defer { instance.destroy() }
        #expect(principals(try instance.targets(#"{"category": "user.login"}"#)) == ["root"])
        #expect(principals(try instance.targets(#"{"category": "x"}"#)) == ["bob", "root"])
    }

    @Test("event-principals targets the principals the event lists, plus fixed groups")
    func eventPrincipals() throws {
        let instance = try plugin.instance(#"""
            {"categories": {
               "chat.direct": "event-principals",
               "chat.room": {"event_principals": true, "groups": ["group:moderators"]}}}
            """#, host: TestHost())
        defer { instance.destroy() }
        let direct = try instance.targets(#"{"category": "chat.direct", "target": {"principals": ["bob", "carol", "bob"]}}"#)
        #expect(principals(direct) == ["bob", "carol"])
        let room = try instance.targets(#"{"category": "chat.room", "target": {"principals": ["dave"]}}"#)
        #expect(principals(room) == ["group:moderators", "dave"])
        // An event that lists nobody reaches nobody but the fixed part of the rule.
        #expect(principals(try instance.targets(#"{"category": "chat.direct"}"#)) == [])
        #expect(principals(try instance.targets(#"{"category": "chat.room"}"#)) == ["group:moderators"])
    }

    @Test("large principal lists are deduplicated in order")
    func largeLists() throws {
        let instance = try plugin.instance(#"{"categories": {"room": {"event_principals": true, "principals": ["u7", "admin"]}}}"#,
                                           host: TestHost())
        defer { instance.destroy() }
        let listed = (0..<1_000).map { "u\($0)" } + (0..<1_000).map { "u\($0)" }
        let event = JSON.object()
        event.set("category", "room")
        let target = JSON.object()
        target.set("principals", JSON.strings(listed))
        event.set("target", target)
        let answer = instance.targets(event)
        #expect(answer.result == gw_result(GW_OK))
        #expect(answer.principals == ["u7", "admin"] + (0..<1_000).filter { $0 != 7 }.map { "u\($0)" })
    }

    @Test("a malformed target list in the event is GW_ERROR with a stable code")
    func malformedEventTarget() throws {
        let instance = try plugin.instance(#"{"categories": {"chat.direct": "event-principals"}}"#, host: TestHost())
        defer { instance.destroy() }
        let answer = try instance.targets(#"{"category": "chat.direct", "target": {"principals": ["bob", 7]}}"#)
        #expect(answer.result == gw_result(GW_ERROR))
        #expect(answer.output == nil)
        #expect(answer.message.hasPrefix("category_targets.bad_event_target:"))
    }

    @Test("bad configurations are refused with NULL and a message naming the problem", arguments: [
        (#"{"categorys": {}}"#, "category_targets.unknown_key:"),
        (#"{"categories": {"a": "everyone"}}"#, "category_targets.unknown_rule:"),
        (#"{"categories": {"a": []}}"#, "category_targets.empty_rule:"),
        (#"{"categories": {"a": 12}}"#, "category_targets.bad_rule:"),
        (#"{"categories": {"a": {"principals": "bob"}}}"#, "category_targets.bad_type:"),
        (#"{"categories": {"a": {"users": ["bob"]}}}"#, "category_targets.unknown_key:"),
        (#"{"categories": ["a"]}"#, "category_targets.bad_type:"),
        (#"{"site_managers": "bob"}"#, "category_targets.bad_type:"),
    ])
    func badConfig(config: String, code: String) throws {
        let message = try plugin.createError(config, host: TestHost())
        #expect(message.hasPrefix(code), "got: \(message)")
    }

    @Test("on_targets is safe to call concurrently on one instance")
    func concurrentCalls() throws {
        let instance = try plugin.instance(#"{"categories": {"pyams.test": ["test:user", "group:a"]}}"#, host: TestHost())
        defer { instance.destroy() }
        // One shared, read-only event, as the host does it.
        let event = try JSON.parse(#"{"category": "pyams.test"}"#)
        let failures = ManagedCounter()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<2_000 {
                let answer = instance.targets(event)
                if answer.result != gw_result(GW_OK) || answer.output?.encodedString() != #"{"principals":["test:user","group:a"]}"# {
                    failures.increment()
                }
            }
        }
        #expect(failures.value == 0)
        #expect(referenceCount(event) == 1)
    }
}

final class ManagedCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
