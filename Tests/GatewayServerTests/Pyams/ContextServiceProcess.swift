import Foundation

/// context_server.py: a site's context service (pyams_chat's GET /api/chat/context) as a real
/// HTTP server process. `users` says what it answers for each token's `sub`; `calls()` is what
/// it was asked.
final class ContextServiceProcess: ChildProcess, @unchecked Sendable {  // started once in init, then only read
    private(set) var port = 0
    let usersFile: String
    let callsFile: String

    /// A behaviour per sub: ["principals": [...], "title": "..."], ["delay": 3], ["status": 401],
    /// ["raw": "not json"] (see context_server.py).
    init(folder: String, users: [String: [String: Any]]) throws {
        let name = UUID().uuidString
        usersFile = folder + "/context-users-\(name).json"
        callsFile = folder + "/context-calls-\(name).jsonl"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: users).write(to: URL(fileURLWithPath: usersFile))
        super.init()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("context_server.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, usersFile, callsFile]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = ""
        while !line.contains("\n") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            line += String(decoding: data, as: UTF8.self)
        }
        guard let number = line.split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            throw TestFailure("context_server.py did not report its port: '\(line)'")
        }
        port = number
    }

    var url: String { "http://127.0.0.1:\(port)/api/chat/context" }

    struct Call { let sub: String?; let path: String; let authorization: String }

    func calls() -> [Call] {
        guard let text = try? String(contentsOfFile: callsFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Call(sub: object["sub"] as? String, path: object["path"] as? String ?? "",
                        authorization: object["authorization"] as? String ?? "")
        }
    }

    func calls(for sub: String) -> [Call] { calls().filter { $0.sub == sub } }
}
