// ABI 1.4 through the Swift SDK: scripted-flows (a real .so) resolves its relative `schemas` and
// `store` against host->config_directory(), and on a 1.3 host (a table that ends before it)
// against the working directory, as before.
import CGatewayPlugin
import Foundation
import GatewayJSON
import Testing

@Suite("config_directory (ABI 1.4)")
struct ConfigDirectoryTests {
    let plugin: PluginLibrary
    init() throws { plugin = try PluginLibrary.load("ScriptedFlows") }

    private static let schema = #"{"id": "s", "title": "S", "on_finish": "open", "questions": [{"id": 1, "position": 1, "type": "text", "text": "Hi?", "required": false, "next_qid": -1}]}"#

    /// A folder holding schemas/s.json, which the working directory does not have.
    private func configFolder() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("config-dir-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/schemas", withIntermediateDirectories: true)
        try Self.schema.write(toFile: folder + "/schemas/s.json", atomically: true, encoding: .utf8)
        return folder
    }

    @Test func relativePathsStartAtTheConfigFolder() throws {
        let folder = try configFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let instance = try plugin.instance(#"{"schemas": ["schemas/s.json"], "store": "surveys.json"}"#,
                                           host: TestHost(configDirectory: folder))
        instance.destroy()
        // An absolute path is kept as written.
        try plugin.instance(#"{"schemas": ["\#(folder)/schemas/s.json"]}"#, host: TestHost(configDirectory: "/nowhere")).destroy()
    }

    @Test func onAnOlderHostRelativePathsStartAtTheWorkingDirectory() throws {
        let folder = try configFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let message = try plugin.createError(#"{"schemas": ["schemas/s.json"]}"#, host: TestHost(configDirectory: nil))
        #expect(message.contains("cannot read schema file schemas/s.json"), "\(message)")
    }
}
