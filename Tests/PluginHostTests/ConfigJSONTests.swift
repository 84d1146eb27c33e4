import GatewayCore
import GatewayJSON
import Testing

@Suite struct ConfigJSONTests {
    @Test func everyValueKindKeepsOrder() {
        let json = ConfigJSON.object([
            ("name", .string("room")), ("limit", .integer(-3)), ("ratio", .float(0.5)), ("on", .bool(true)),
            ("list", .array([.integer(1), .string("two")])),
            ("nested", .table([("z", .bool(false)), ("a", .float(.infinity))])),
        ])
        #expect(json.encodedString()
                == #"{"name":"room","limit":-3,"ratio":0.5,"on":true,"list":[1,"two"],"nested":{"z":false,"a":null}}"#)
        #expect(ConfigJSON.object([]).encodedString() == "{}")
    }
}
