// The real bundled plugins, built by SwiftPM next to the test executable. Some may still be
// placeholders without the entry symbol; whichever export it must load and instantiate.
import Foundation
import GatewayCore
import Testing

@Suite struct BundledPluginTests {
    static let names = ["CategoryTargets", "MessageTypeFilter", "AttachmentValidator", "Thumbnailer", "ConsoleAudit"]

    @Test func bundledPluginsThatExportTheEntryLoad() throws {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        var candidates: [String] = []
        for name in Self.names {
            let path = directory + "/lib\(name).so"
            try #require(FileManager.default.fileExists(atPath: path), "bundled plugin not built next to the tests: \(path)")
            switch PluginInspector.inspect(path: path) {
            case .success(let info):
                #expect(info.abiMajor == 1)
                #expect(!info.name.isEmpty && !info.version.isEmpty)
                candidates.append(name)
            case .failure(let error):
                // Only a plugin still under construction (no entry symbol yet) may be refused.
                #expect(error.code == "plugin.entry_missing", "\(error)")
            }
        }
        let recorder = LogRecorder()
        let host = PluginHost(logger: recorder.logger)
        let entries = candidates.map { GatewayConfig.Plugin(name: $0.lowercased(), library: $0) }
        // pluginDirectory nil: resolved against the running executable's folder, as in production.
        switch host.makeChain(entries, pluginDirectory: nil, baseDirectory: "/") {
        case .success(let chain): #expect(chain.plugins.count == candidates.count)
        case .failure(let errors):
            // A bundled plugin may require config keys; that refusal must still be a clean one.
            for error in errors { #expect(error.code == "plugin.create_failed", "\(error)") }
        }
    }
}
