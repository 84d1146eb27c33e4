import GatewayCore
import Testing

/// [engine] kind: "memory" is the default; an unknown engine is an error that names the known ones.
@Suite struct EngineConfigTests {
    @Test func memoryIsTheDefaultAndCanBeNamed() throws {
        guard case .success(let defaults) = ConfigLoader.parse("", baseDirectory: ".", fileName: "gateway.conf"),
              case .success(let named) = ConfigLoader.parse("[engine]\nkind = \"memory\"\n", baseDirectory: ".", fileName: "gateway.conf")
        else {
            Issue.record("a memory engine config was refused")
            return
        }
        #expect(defaults.engine.kind == "memory")
        #expect(named.engine.kind == "memory")
    }

    @Test func anUnknownEngineIsRefusedWithTheKnownOnes() throws {
        let errors = try parseErrors("[engine]\nkind = \"memroy\"\n")
        #expect(errors.map(\.code) == ["config.unknown_engine"])
        #expect(errors[0].line == 2)
        #expect(errors[0].message.contains("known engines: \"memory\""))
        #expect(errors[0].message.contains("did you mean 'memory'"))
        let wrongType = try parseErrors("[engine]\nkind = 1\n")
        #expect(wrongType.map(\.code) == ["config.wrong_type"])
        let unknownKey = try parseErrors("[engine]\nknd = \"memory\"\n")
        #expect(unknownKey.map(\.code) == ["config.unknown_key"])
    }
}
