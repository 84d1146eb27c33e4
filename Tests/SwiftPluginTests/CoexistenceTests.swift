// Several Swift plugins in one process: each image carries its own static copy of the SDK, and
// the capability checks are dynamic casts inside each image. Loading all three and driving each
// proves the copies do not interfere (nothing Swift crosses the C boundary).
import CGatewayPlugin
import GatewayJSON
import Testing

@Suite("Swift plugins coexist")
struct CoexistenceTests {
    @Test("all three Swift plugins load into one process and each works")
    func allThreeTogether() throws {
        let targets = try PluginLibrary.load("CategoryTargets")
        let filter = try PluginLibrary.load("MessageTypeFilter")
        let validator = try PluginLibrary.load("AttachmentValidator")
        #expect(Set([targets.name, filter.name, validator.name]).count == 3)
        #expect(Set([targets.descriptor, filter.descriptor, validator.descriptor]).count == 3)

        let host = TestHost()
        let targetsInstance = try targets.instance(#"{"categories": {"pyams.test": ["test:user"]}}"#, host: host)
        let filterInstance = try filter.instance(#"{"allowed_principals": ["role:superuser"], "redact": true}"#, host: host)
        let validatorInstance = try validator.instance("{}", host: host)
        defer {
            targetsInstance.destroy()
            filterInstance.destroy()
            validatorInstance.destroy()
        }

        // Interleave calls so each image's hooks run after the others have been loaded and used.
        for _ in 0..<3 {
            let event = try JSON.parse(#"{"category": "pyams.test", "type": "secret", "message": "x"}"#)
            let computed = targetsInstance.targets(event)
            #expect(computed.result == gw_result(GW_OK))
            #expect(computed.principals == ["test:user"])

            let filtered = filterInstance.filter(event, recipient: try JSON.parse(#"{"id": "test:user", "principals": ["test:user"]}"#))
            #expect(filtered.result == gw_result(GW_REDACT))
            #expect(filtered.read { $0["message"].string } == "")

            let accepted = try validatorInstance.validate(#"{"type": "image", "name": "a.png", "mime": "image/png"}"#, bytes: Samples.png)
            #expect(accepted.result == gw_result(GW_OK))
        }
        // Several instances of one plugin are independent.
        let second = try targets.instance(#"{"categories": {"pyams.test": ["other"]}}"#, host: host)
        defer { second.destroy() }
        #expect(try second.targets(#"{"category": "pyams.test"}"#).principals == ["other"])
        #expect(try targetsInstance.targets(#"{"category": "pyams.test"}"#).principals == ["test:user"])
    }
}
