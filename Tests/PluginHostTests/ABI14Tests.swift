// ABI 1.4 on the host side: host->config_directory() gives each instance the absolute folder of
// the config file that named it, so a plugin's relative paths do not depend on the directory the
// gateway was started from (the scripted-flows schemas; ScriptedFlowTests uses relative paths).
import Foundation
import GatewayCore
import GatewayJSON
import Testing

@Suite struct ABI14Tests {
    /// What the fixture guard in mode config_dir saw: it refuses with config_directory()'s answer.
    private func configDirectory(seenWith baseDirectory: String) throws -> String? {
        let host = PluginHost(logger: LogRecorder().logger)
        let entry = Fixtures.entry("where", "libguard.so", [("mode", .string("config_dir"))])
        let chain = try host.makeChain([entry], pluginDirectory: try Fixtures.directory(), baseDirectory: baseDirectory).get()
        let event = try JSON.parse(#"{"id": 1, "category": "chat.message", "source": {"id": "alice"}, "host": "localhost", "target": {"principals": ["bob"]}}"#)
        let outcome = chain.guardPublish(event, publisher: Publisher(id: "alice", title: "Alice", principals: ["alice"]),
                                         memberships: [], ingress: .http)
        guard case .refused(let error) = outcome, error.code == "fixture.config_dir" else { return nil }
        return error.message
    }

    @Test func aPluginLearnsTheAbsoluteFolderOfItsConfigFile() throws {
        #expect(try configDirectory(seenWith: "/etc/gateway/") == "/etc/gateway")
        // Relative config folders (`gateway run --config conf/gateway.conf`) become absolute
        // against the working directory at load time, with "." and ".." resolved.
        let cwd = FileManager.default.currentDirectoryPath
        #expect(try configDirectory(seenWith: ".") == cwd)
        #expect(try configDirectory(seenWith: "conf/../deploy") == cwd + "/deploy")
    }
}
