import Foundation
import Testing
@testable import GatewayStore

@Suite("AttachmentStore")
struct AttachmentStoreTests {
    private static let abcSHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

    private func makeStore(_ folder: TemporaryFolder) throws -> AttachmentStore {
        try AttachmentStore(directory: folder.file("attachments"), databasePath: folder.file("store.sqlite"))
    }

    @Test func identicalBytesAreStoredOnce() throws {
        let folder = TemporaryFolder()
        let store = try makeStore(folder)
        let first = try store.beginUpload()
        try first.write(Array("a".utf8))
        try first.write(Array("bc".utf8))
        let one = try store.commit(first, type: "file", mime: "text/plain", name: "one.txt", owner: "alice")
        let second = try store.beginUpload()
        try second.write(Array("abc".utf8))
        let two = try store.commit(second, type: "file", mime: "text/plain", name: "two.txt", owner: "bob")

        #expect(one.sha256 == Self.abcSHA256)
        #expect(two.sha256 == Self.abcSHA256)
        #expect(one.id != two.id)
        #expect(one.size == 3)
        #expect(store.filePath(sha256: one.sha256) == folder.file("attachments/ba/\(Self.abcSHA256)"))
        #expect(folder.files(under: folder.file("attachments")) == ["ba/\(Self.abcSHA256)"])
        #expect(FileManager.default.contents(atPath: store.filePath(sha256: one.sha256)) == Data("abc".utf8))
    }

    @Test func aLargeUploadStreamsInChunks() throws {
        let folder = TemporaryFolder()
        let store = try makeStore(folder)
        let upload = try store.beginUpload()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 4_000)
        for _ in 0..<250 { try upload.write(chunk) }  // one million "a"
        #expect(upload.size == 1_000_000)
        let record = try store.commit(upload, type: "file", mime: "application/octet-stream", name: "a.bin", owner: "o")
        #expect(record.sha256 == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(record.size == 1_000_000)
        let attributes = try FileManager.default.attributesOfItem(atPath: store.filePath(sha256: record.sha256))
        #expect((attributes[.size] as? NSNumber)?.int64Value == 1_000_000)
    }

    @Test func unfinishedUploadsLeaveNothingBehind() throws {
        let folder = TemporaryFolder()
        let store = try makeStore(folder)
        let attachments = folder.file("attachments")

        let aborted = try store.beginUpload()
        try aborted.write(Array("partial".utf8))
        #expect(folder.files(under: attachments).count == 1)
        aborted.abort()
        aborted.abort()
        #expect(folder.files(under: attachments).isEmpty)
        let reuse = #expect(throws: StoreError.self) { try aborted.write(Array("more".utf8)) }
        #expect(reuse?.code == "store.upload_finished")
        let commitAborted = #expect(throws: StoreError.self) {
            try store.commit(aborted, type: "file", mime: "text/plain", name: "x", owner: "o")
        }
        #expect(commitAborted?.code == "store.upload_finished")

        do {  // dropped mid-way (the client went away): the temp file goes with the object
            let dropped = try store.beginUpload()
            try dropped.write(Array("cut midway".utf8))
        }
        #expect(folder.files(under: attachments).isEmpty)

        let tooLarge = try store.beginUpload(maxBytes: 10)
        try tooLarge.write(Array("12345".utf8))
        let overLimit = #expect(throws: StoreError.self) { try tooLarge.write(Array("678901".utf8)) }
        #expect(overLimit?.code == "store.too_large")
        #expect(folder.files(under: attachments).isEmpty)
    }

    @Test func uploadsLeftByACrashAreRemovedOnOpen() throws {
        let folder = TemporaryFolder()
        do {
            let store = try makeStore(folder)
            let upload = try store.beginUpload()
            try upload.write(Array("left behind".utf8))
            // Simulate a crash: the process dies before abort or commit, so the file stays.
            try FileManager.default.copyItem(atPath: upload.temporaryPath, toPath: upload.temporaryPath + "-crashed")
        }
        #expect(folder.files(under: folder.file("attachments")).count == 1)
        _ = try makeStore(folder)
        #expect(folder.files(under: folder.file("attachments")).isEmpty)
    }

    @Test func metadataAndThumbnailRoundTrip() throws {
        let folder = TemporaryFolder()
        let store = try makeStore(folder)
        let upload = try store.beginUpload()
        try upload.write([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])
        let committed = try store.commit(upload, type: "image", mime: "image/png", name: "photo – ünï.png", owner: "alice")
        #expect(committed.id.count == 22)
        #expect(committed.id.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(committed.createdAt.hasSuffix("Z") && committed.createdAt.count == 24)
        #expect(try store.record(id: committed.id) == committed)

        let thumbnailBytes: [UInt8] = Array("tiny jpeg".utf8)
        try store.storeThumbnail(for: committed.id, bytes: thumbnailBytes, mime: "image/jpeg", width: 100, height: 75)
        let withThumbnail = try #require(try store.record(id: committed.id))
        let thumbnail = try #require(withThumbnail.thumbnail)
        #expect(thumbnail.mime == "image/jpeg")
        #expect(thumbnail.width == 100 && thumbnail.height == 75)
        #expect(thumbnail.size == Int64(thumbnailBytes.count))
        #expect(FileManager.default.contents(atPath: store.filePath(sha256: thumbnail.sha256)) == Data(thumbnailBytes))
        #expect(withThumbnail.sha256 == committed.sha256 && withThumbnail.name == committed.name)

        #expect(try store.record(id: "no-such-id") == nil)
        let missing = #expect(throws: StoreError.self) {
            try store.storeThumbnail(for: "no-such-id", bytes: [1], mime: "image/png", width: 1, height: 1)
        }
        #expect(missing?.code == "store.not_found")
        let badSize = #expect(throws: StoreError.self) {
            try store.storeThumbnail(for: committed.id, bytes: [1], mime: "image/png", width: 0, height: 1)
        }
        #expect(badSize?.code == "store.invalid_argument")
    }

    @Test func readAccessIsOwnerOrGrantedPrincipal() throws {
        let folder = TemporaryFolder()
        let store = try makeStore(folder)
        let upload = try store.beginUpload()
        try upload.write(Array("secret".utf8))
        let record = try store.commit(upload, type: "file", mime: "text/plain", name: "s.txt", owner: "alice")

        #expect(try store.mayRead(id: record.id, identityId: "alice", principals: []))
        #expect(try !store.mayRead(id: record.id, identityId: "bob", principals: ["user:bob", "role:staff"]))
        try store.grant(id: record.id, principals: ["role:staff", "user:carol"])
        try store.grant(id: record.id, principals: ["role:staff"])  // granting twice is harmless
        #expect(try store.mayRead(id: record.id, identityId: "bob", principals: ["user:bob", "role:staff"]))
        #expect(try store.mayRead(id: record.id, identityId: "carol", principals: ["user:carol"]))
        #expect(try !store.mayRead(id: record.id, identityId: "dave", principals: ["user:dave"]))
        #expect(try !store.mayRead(id: "unknown", identityId: "alice", principals: ["role:staff"]))

        let unknown = #expect(throws: StoreError.self) { try store.grant(id: "unknown", principals: ["x"]) }
        #expect(unknown?.code == "store.not_found")
    }

    @Test func forgedHashesNeverLeaveTheStore() throws {
        let folder = TemporaryFolder()
        let store = try makeStore(folder)
        for forged in ["../../etc/passwd", "", String(repeating: "A", count: 64), String(repeating: "a", count: 63) + "/"] {
            let path = store.filePath(sha256: forged)
            #expect(path.hasPrefix(folder.file("attachments/")))
            #expect(!path.contains(".."))
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func sharesTheHistoryDatabaseAndSurvivesReopen() throws {
        let folder = TemporaryFolder()
        let history = try HistoryStore(path: folder.file("gateway.sqlite"))
        defer { history.close() }
        let store = try AttachmentStore(directory: folder.file("files"), history: history)
        let upload = try store.beginUpload()
        try upload.write(Array("abc".utf8))
        let record = try store.commit(upload, type: "file", mime: "text/plain", name: "abc.txt", owner: "alice")
        try store.grant(id: record.id, principals: ["role:staff"])
        history.record(event(1, to: ["role:staff"]))
        history.flush()
        store.close()
        let closed = #expect(throws: StoreError.self) { try store.record(id: record.id) }
        #expect(closed?.code == "store.closed")

        let reopened = try AttachmentStore(directory: folder.file("files"), databasePath: folder.file("gateway.sqlite"))
        #expect(try reopened.record(id: record.id) == record)
        #expect(try reopened.mayRead(id: record.id, identityId: "x", principals: ["role:staff"]))
        #expect(ids(try history.after(id: 0, principals: ["role:staff"], host: "chat.example", excludingSender: "x",
                                      limit: 5)) == [1])
    }
}
