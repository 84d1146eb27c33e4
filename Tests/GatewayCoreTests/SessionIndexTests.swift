import GatewayCore
import Testing

/// The routing rule, tested without sockets.
@Suite struct SessionIndexTests {
    final class FakeSession {
        let name: String
        init(_ name: String) { self.name = name }
    }

    private func recipients(_ index: SessionIndex<FakeSession>, host: String = "h", _ principals: [String],
                            sender: String = "nobody") -> [String] {
        var names: [String] = []
        index.forEachRecipient(host: host, principals: principals, excludingIdentity: sender) { names.append($0.name) }
        return names.sorted()
    }

    @Test func matchesPrincipalsWithinTheHostOnly() {
        let index = SessionIndex<FakeSession>()
        let alice = FakeSession("alice"), bob = FakeSession("bob"), elsewhere = FakeSession("bob-elsewhere")
        index.add(alice, identityId: "alice", principals: ["alice", "group:staff"], host: "h")
        index.add(bob, identityId: "bob", principals: ["bob"], host: "h")
        index.add(elsewhere, identityId: "bob", principals: ["bob"], host: "other")
        #expect(recipients(index, ["bob"]) == ["bob"])
        #expect(recipients(index, ["group:staff", "bob"]) == ["alice", "bob"])
        #expect(recipients(index, host: "other", ["bob"]) == ["bob-elsewhere"])
        #expect(recipients(index, ["carol"]).isEmpty)
    }

    @Test func aSessionHoldingSeveralTargetsIsVisitedOnce() {
        let index = SessionIndex<FakeSession>()
        let alice = FakeSession("alice")
        index.add(alice, identityId: "alice", principals: ["alice", "group:a", "group:b", "group:a"], host: "h")
        #expect(recipients(index, ["group:a", "group:b", "alice"]) == ["alice"])
    }

    @Test func everySessionOfTheSenderIsSkipped() {
        let index = SessionIndex<FakeSession>()
        let first = FakeSession("admin-1"), second = FakeSession("admin-2"), carol = FakeSession("carol")
        index.add(first, identityId: "system:admin", principals: ["system:admin", "group:staff"], host: "h")
        index.add(second, identityId: "system:admin", principals: ["system:admin", "group:staff"], host: "h")
        index.add(carol, identityId: "carol", principals: ["carol", "group:staff"], host: "h")
        #expect(recipients(index, ["group:staff"], sender: "system:admin") == ["carol"])
        #expect(recipients(index, ["group:staff", "system:admin"], sender: "system:admin") == ["carol"])
    }

    @Test func removalKeepsTheOthers() {
        let index = SessionIndex<FakeSession>()
        let sessions = (0..<100).map { FakeSession("s\($0)") }
        for session in sessions { index.add(session, identityId: session.name, principals: ["room"], host: "h") }
        for session in sessions where Int(session.name.dropFirst())! % 3 == 0 { index.remove(session) }
        let expected = sessions.filter { Int($0.name.dropFirst())! % 3 != 0 }.map(\.name).sorted()
        #expect(recipients(index, ["room"]) == expected)
        #expect(index.count == expected.count)
        for session in sessions { index.remove(session) }
        #expect(index.count == 0)
        #expect(recipients(index, ["room"]).isEmpty)
    }
}

@Suite struct TokenBucketTests {
    @Test func allowsTheBurstThenTheRate() {
        var bucket = TokenBucket(rate: 10, burst: 3, nowNanoseconds: 0)
        func takeAll(_ count: Int, at now: UInt64) -> Bool {
            var all = true
            for _ in 0..<count { all = bucket.take(nowNanoseconds: now) && all }
            return all
        }
        func take(at now: UInt64) -> Bool { bucket.take(nowNanoseconds: now) }
        #expect(takeAll(3, at: 0))
        #expect(!take(at: 0), "burst spent")
        #expect(!take(at: 50_000_000), "half a token after 50 ms at 10/s")
        #expect(take(at: 100_000_000), "one token after 100 ms")
        #expect(!take(at: 100_000_000))
        // A long pause refills to the burst, not beyond.
        #expect(takeAll(3, at: 60_000_000_000))
        #expect(!take(at: 60_000_000_000))
    }
}
