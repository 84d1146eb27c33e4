import Foundation
import Testing
@testable import GatewayStore

@Suite("HistoryStore pruning, restart, concurrency")
struct HistoryDurabilityTests {
    @Test func keepsOnlyTheNewestPerPrincipalAndDeletesUnreferencedEvents() throws {
        let folder = TemporaryFolder()
        let path = folder.file("history.sqlite")
        let store = try HistoryStore(path: path, perPrincipal: 3)
        store.record(event(1, to: ["alice", "bob"]))
        for id in Int64(2)...10 { store.record(event(id, to: ["alice"])) }
        store.flush()
        // Pruning follows in separate batches too: record one more batch after the first commit.
        store.record(event(11, to: ["alice"]))
        store.flush()
        store.close()

        let reopened = try HistoryStore(path: path, perPrincipal: 3)
        defer { reopened.close() }
        #expect(ids(try reopened.recent(principals: ["alice"], host: "chat.example", excludingSender: "x",
                                        sinceTimestamp: nil, limit: 50)) == [11, 10, 9])
        // Event 1 fell out of alice's last 3 but bob still references it: it must survive.
        #expect(ids(try reopened.recent(principals: ["bob"], host: "chat.example", excludingSender: "x",
                                        sinceTimestamp: nil, limit: 50)) == [1])
        #expect(try countRows("deliveries", in: path) == 4)
        #expect(try countRows("events", in: path) == 4)  // 1, 9, 10, 11: events 2…8 are gone
    }

    @Test func pruningWorksWithinOneLargeBatch() throws {
        let folder = TemporaryFolder()
        let path = folder.file("history.sqlite")
        let store = try HistoryStore(path: path, perPrincipal: 5)
        defer { store.close() }
        for id in Int64(1)...1_000 { store.record(event(id, to: ["p\(id % 4)", "everyone"])) }
        store.flush()
        #expect(ids(try store.after(id: 0, principals: ["everyone"], host: "chat.example", excludingSender: "x",
                                    limit: 50)) == [996, 997, 998, 999, 1000])
        #expect(ids(try store.recent(principals: ["p1"], host: "chat.example", excludingSender: "x",
                                     sinceTimestamp: nil, limit: 50)) == [997, 993, 989, 985, 981])
        #expect(try countRows("deliveries", in: path) == 25)
        // Events still referenced: the last 5 of each p0…p3 (20 distinct) — those include the last 5 overall.
        #expect(try countRows("events", in: path) == 20)
    }

    @Test func historyAndLastEventIdSurviveARestart() throws {
        let folder = TemporaryFolder()
        let path = folder.file("nested/data/history.sqlite")  // folders are created on open
        do {
            let store = try HistoryStore(path: path)
            #expect(store.lastEventId() == 0)
            for id in Int64(1)...20 { store.record(event(id, to: ["alice"], sender: "bob")) }
            store.record(event(25, to: []))  // nobody receives it: not kept, but its id counts
            #expect(store.lastEventId() == 25)  // queued events count at once
            store.close()  // close without flush: closing commits what is queued
        }
        let reopened = try HistoryStore(path: path)
        defer { reopened.close() }
        #expect(reopened.lastEventId() == 25)
        let read = try reopened.recent(principals: ["alice"], host: "chat.example", excludingSender: "alice",
                                       sinceTimestamp: nil, limit: 50)
        #expect(ids(read) == Array((1...20).reversed()))
        #expect(read.first == event(20, to: ["alice"], sender: "bob"))
    }

    @Test func flushWaitsForEverythingRecordedBeforeIt() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"))
        defer { store.close() }
        for id in Int64(1)...5_000 { store.record(event(id, to: ["alice", "bob", "carol"])) }
        store.flush()
        let statistics = store.statistics
        #expect(statistics.accepted == 5_000)
        #expect(statistics.committed == 5_000)
        #expect(statistics.failed == 0)
        #expect(ids(try store.recent(principals: ["carol"], host: "chat.example", excludingSender: "x",
                                     sinceTimestamp: nil, limit: 1)) == [5_000])
    }

    @Test func aFullQueueDropsAndCountsInsteadOfBlocking() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"), queueCapacity: 1)
        defer { store.close() }
        for id in Int64(1)...20_000 { store.record(event(id, to: ["alice"])) }
        store.flush()
        let statistics = store.statistics
        #expect(statistics.dropped > 0)
        #expect(statistics.accepted + statistics.dropped == 20_000)
        #expect(statistics.committed == statistics.accepted)
        #expect(store.lastEventId() == 20_000 || statistics.dropped > 0)
    }

    @Test func readsRunWhileTheWriterCommits() async throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"), perPrincipal: 100)
        defer { store.close() }
        let total: Int64 = 30_000
        let writing = Thread {
            for id in Int64(1)...total { store.record(event(id, to: ["alice", "room:\(id % 10)"])) }
        }
        let readerDone = DispatchSemaphore(value: 0)
        // Written by the reading thread, read here once it signalled `readerDone`.
        let outcome = Shared<(failure: String?, reads: Int)>((nil, 0))
        let reading = Thread {
            var lastSeen: Int64 = 0
            var readerFailure: String?
            defer {
                outcome.withLock { $0.failure = readerFailure }
                readerDone.signal()
            }
            while lastSeen < total {
                do {
                    let page = try store.recent(principals: ["alice"], host: "chat.example", excludingSender: "x",
                                                sinceTimestamp: nil, limit: 100)
                    // Committed batches are seen whole and in order: newest first, no gaps, never going back.
                    let newest = page.first?.id ?? 0
                    if newest < lastSeen { readerFailure = "newest id went back from \(lastSeen) to \(newest)" }
                    if ids(page) != Array(stride(from: newest, to: max(0, newest - Int64(page.count)), by: -1)) {
                        readerFailure = "page is not contiguous: \(ids(page).prefix(5))…"
                    }
                    lastSeen = newest
                    outcome.withLock { $0.reads += 1 }
                } catch {
                    readerFailure = "\(error)"
                    return
                }
            }
        }
        reading.start()
        writing.start()
        let finished = readerDone.wait(timeout: .now() + 60)
        #expect(finished == .success, "reader did not see the last event within 60 s")
        #expect(outcome.value.failure == nil)
        #expect(outcome.value.reads > 1)
        store.flush()
        #expect(store.statistics.committed == UInt64(total))
    }

    @Test func recordingFromManyThreadsLosesNothing() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"), perPrincipal: 100_000)
        defer { store.close() }
        let threads = 4
        let perThread = 10_000
        let done = DispatchGroup()
        for thread in 0..<threads {
            done.enter()
            Thread {
                for index in 0..<perThread {
                    store.record(event(Int64(thread * perThread + index + 1), to: ["everyone", "t\(thread)"]))
                }
                done.leave()
            }.start()
        }
        #expect(done.wait(timeout: .now() + 60) == .success)
        store.flush()
        #expect(store.statistics.committed == UInt64(threads * perThread))
        let all = try store.after(id: 0, principals: ["everyone"], host: "chat.example", excludingSender: "x",
                                  limit: threads * perThread + 1)
        #expect(ids(all) == Array(1...Int64(threads * perThread)))
        #expect(store.lastEventId() == Int64(threads * perThread))
    }

    @Test func unusableFilesFailWithStableCodes() throws {
        let folder = TemporaryFolder()
        // A regular file where a folder is needed.
        _ = FileManager.default.createFile(atPath: folder.file("plain"), contents: Data("x".utf8))
        let notAFolder = #expect(throws: StoreError.self) { try HistoryStore(path: folder.file("plain/history.sqlite")) }
        #expect(notAFolder?.code == "store.open_failed")

        // A file that is not a SQLite database.
        _ = FileManager.default.createFile(atPath: folder.file("garbage.sqlite"),
                                       contents: Data(repeating: 0x5a, count: 4096))
        let garbage = #expect(throws: StoreError.self) { try HistoryStore(path: folder.file("garbage.sqlite")) }
        #expect(garbage?.code == "store.sqlite")
        #expect(garbage?.message.contains("not a database") == true)

        let memory = #expect(throws: StoreError.self) { try HistoryStore(path: ":memory:") }
        #expect(memory?.code == "store.open_failed")
    }

    @Test func aNewerSchemaIsRefused() throws {
        let folder = TemporaryFolder()
        let path = folder.file("history.sqlite")
        try HistoryStore(path: path).close()
        let connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA user_version = 99")
        connection.close()
        let refused = #expect(throws: StoreError.self) { try HistoryStore(path: path) }
        #expect(refused?.code == "store.schema_too_new")
        #expect(refused?.message.contains("99") == true)
    }
}
