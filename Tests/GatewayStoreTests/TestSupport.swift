// Helpers shared by the store tests: a fresh temp folder per test and compact event builders.
import Foundation
import Synchronization
@testable import GatewayStore

final class TemporaryFolder {
    let path: String

    init() {
        var template = Array("/tmp/gateway-store-test-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed: \(String(cString: strerror(errno)))")
        path = String(cString: template)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Regular files below `folder`, recursively, as paths relative to it.
    func files(under folder: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return [] }
        var found: [String] = []
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(folder)/\(relative)", isDirectory: &isDirectory), !isDirectory.boolValue {
                found.append(relative)
            }
        }
        return found.sorted()
    }
}

func event(
    _ id: Int64, to principals: [String], host: String = "chat.example", sender: String = "system",
    at timestamp: String? = nil
) -> StoredEvent {
    let time = timestamp ?? String(format: "2026-11-22T10:%02d:%02d.000Z", (id / 60) % 60, id % 60)
    return StoredEvent(id: id, host: host, sender: sender, principals: principals, timestamp: time,
                       payload: Array("{\"id\":\(id),\"message\":\"hello\"}".utf8))
}

func ids(_ events: [StoredEvent]) -> [Int64] { events.map(\.id) }

/// Counts rows straight from the file, to check what pruning left behind.
func countRows(_ table: String, in path: String) throws -> Int {
    let connection = try SQLiteConnection(path: path, readOnly: true)
    defer { connection.close() }
    return try connection.withStatement("SELECT count(*) FROM \(table)") { statement throws(StoreError) in
        _ = try statement.step()
        return statement.int(0)
    }
}

/// A value several test threads read and write, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    var value: Value { mutex.withLock { $0 } }

    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }
}
