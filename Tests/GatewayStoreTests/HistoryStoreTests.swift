import Foundation
import Testing
@testable import GatewayStore

@Suite("HistoryStore queries")
struct HistoryStoreTests {
    @Test func recentIsNewestFirstAndAfterIsOldestFirst() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"))
        defer { store.close() }
        for id in Int64(1)...5 { store.record(event(id, to: ["alice"])) }
        store.flush()

        let recent = try store.recent(principals: ["alice"], host: "chat.example", excludingSender: "nobody",
                                      sinceTimestamp: nil, limit: 3)
        #expect(ids(recent) == [5, 4, 3])
        let missed = try store.after(id: 2, principals: ["alice"], host: "chat.example", excludingSender: "nobody", limit: 10)
        #expect(ids(missed) == [3, 4, 5])
        let limited = try store.after(id: 0, principals: ["alice"], host: "chat.example", excludingSender: "nobody", limit: 2)
        #expect(ids(limited) == [1, 2])
        #expect(try store.recent(principals: ["alice"], host: "chat.example", excludingSender: "x",
                                 sinceTimestamp: nil, limit: 0).isEmpty)
    }

    @Test func everyFieldRoundTripsExactly() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"))
        defer { store.close() }
        let binary: [UInt8] = [0, 1, 2, 0xff, 0xfe, 0x22, 0x5c, 0]
        let original = StoredEvent(id: 42, host: "h", sender: "", principals: ["ünï\"cøde\\", "tab\there\u{01}", "role:admin", ""],
                                   timestamp: "2026-11-22T10:00:00.123Z", payload: binary)
        let empty = StoredEvent(id: 43, host: "h", sender: "s", principals: ["role:admin"],
                                timestamp: "2026-11-22T10:00:01.000Z", payload: [])
        store.record(original)
        store.record(empty)
        store.flush()
        let read = try store.after(id: 0, principals: ["role:admin"], host: "h", excludingSender: "x", limit: 10)
        #expect(read == [original, empty])
    }

    @Test func theSenderNeverGetsItsOwnEventsBack() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"))
        defer { store.close() }
        store.record(event(1, to: ["alice", "bob"], sender: "bob"))
        store.record(event(2, to: ["alice", "bob"], sender: "alice"))
        store.flush()
        #expect(ids(try store.recent(principals: ["bob"], host: "chat.example", excludingSender: "bob",
                                     sinceTimestamp: nil, limit: 10)) == [2])
        #expect(ids(try store.recent(principals: ["alice"], host: "chat.example", excludingSender: "alice",
                                     sinceTimestamp: nil, limit: 10)) == [1])
        #expect(ids(try store.after(id: 0, principals: ["bob"], host: "chat.example", excludingSender: "bob",
                                    limit: 10)) == [2])
    }

    @Test func hostsAreSeparate() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"))
        defer { store.close() }
        store.record(event(1, to: ["alice"], host: "a.example"))
        store.record(event(2, to: ["alice"], host: "b.example"))
        store.record(event(3, to: ["alice"], host: "a.example"))
        store.flush()
        #expect(ids(try store.recent(principals: ["alice"], host: "a.example", excludingSender: "x",
                                     sinceTimestamp: nil, limit: 10)) == [3, 1])
        #expect(ids(try store.after(id: 0, principals: ["alice"], host: "b.example", excludingSender: "x",
                                    limit: 10)) == [2])
        #expect(try store.recent(principals: ["alice"], host: "c.example", excludingSender: "x",
                                 sinceTimestamp: nil, limit: 10).isEmpty)
    }

    @Test func anyMatchingPrincipalCountsAndEachEventComesOnce() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"))
        defer { store.close() }
        store.record(event(1, to: ["user:alice", "role:staff"]))
        store.record(event(2, to: ["role:staff"]))
        store.record(event(3, to: ["user:carol"]))
        store.record(event(4, to: ["user:alice", "user:alice"]))
        store.flush()
        let seen = try store.recent(principals: ["user:alice", "role:staff"], host: "chat.example",
                                    excludingSender: "x", sinceTimestamp: nil, limit: 10)
        #expect(ids(seen) == [4, 2, 1])
        #expect(try store.recent(principals: [], host: "chat.example", excludingSender: "x",
                                 sinceTimestamp: nil, limit: 10).isEmpty)
    }

    @Test func sinceKeepsOnlyLaterEventsAndComparesInstants() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"))
        defer { store.close() }
        store.record(event(1, to: ["alice"], at: "2026-11-22T10:00:00.000Z"))
        store.record(event(2, to: ["alice"], at: "2026-11-22T10:00:05.000Z"))
        store.record(event(3, to: ["alice"], at: "2026-11-22T11:00:10+01:00"))  // 10:00:10Z
        store.record(event(4, to: ["alice"], at: "2026-11-22T10:00:20.500Z"))
        store.flush()
        func since(_ timestamp: String) throws -> [Int64] {
            ids(try store.recent(principals: ["alice"], host: "chat.example", excludingSender: "x",
                                 sinceTimestamp: timestamp, limit: 10))
        }
        #expect(try since("2026-11-22T10:00:05.000Z") == [4, 3])   // strictly after
        #expect(try since("2026-11-22T10:00:09Z") == [4, 3])
        #expect(try since("2026-11-22T10:00:10.000+00:00") == [4])
        #expect(try since("2026-11-22T10:00:20.499Z") == [4])
        #expect(try since("2026-11-22T10:00:21Z") == [])
        #expect(try since("2020-01-01T00:00:00Z") == [4, 3, 2, 1])
    }

    @Test func badArgumentsGiveStableCodes() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"))
        store.record(event(1, to: ["alice"]))
        store.flush()
        let badSince = #expect(throws: StoreError.self) {
            try store.recent(principals: ["alice"], host: "chat.example", excludingSender: "x",
                             sinceTimestamp: "yesterday", limit: 10)
        }
        #expect(badSince?.code == "store.invalid_argument")
        let negative = #expect(throws: StoreError.self) {
            try store.after(id: 0, principals: ["alice"], host: "chat.example", excludingSender: "x", limit: -1)
        }
        #expect(negative?.code == "store.invalid_argument")
        let zero = #expect(throws: StoreError.self) {
            try HistoryStore(path: folder.file("other.sqlite"), perPrincipal: 0)
        }
        #expect(zero?.code == "store.invalid_argument")

        store.close()
        store.close()  // idempotent
        let closed = #expect(throws: StoreError.self) {
            try store.recent(principals: ["alice"], host: "chat.example", excludingSender: "x",
                             sinceTimestamp: nil, limit: 10)
        }
        #expect(closed?.code == "store.closed")
        store.record(event(2, to: ["alice"]))  // after close: dropped, never blocks or crashes
        store.flush()
        #expect(store.statistics.dropped == 1)
    }

    @Test func duplicateIdsAreIgnoredNotFatal() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"))
        defer { store.close() }
        store.record(event(7, to: ["alice"], sender: "first"))
        store.record(event(7, to: ["bob"], sender: "second"))
        store.record(event(8, to: ["bob"]))
        store.flush()
        #expect(store.statistics.duplicates == 1)
        #expect(store.statistics.committed == 3)
        let alice = try store.after(id: 0, principals: ["alice"], host: "chat.example", excludingSender: "x", limit: 10)
        #expect(alice.map(\.sender) == ["first"])
        #expect(ids(try store.after(id: 0, principals: ["bob"], host: "chat.example", excludingSender: "x",
                                    limit: 10)) == [8])
    }
}
