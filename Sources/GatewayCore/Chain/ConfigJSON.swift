// A [[plugins]] entry's `config` table as the jansson object its create() hook receives.
// Built once per instance at load time, never on the event path.
import CJansson
import GatewayJSON

public enum ConfigJSON {
    public static func object(_ table: [(key: String, value: ConfigValue)]) -> JSON {
        let object = JSON.object()
        for (key, value) in table { object.set(key, json(value)) }
        return object
    }

    public static func json(_ value: ConfigValue) -> JSON {
        switch value {
        case .string(let text): return .string(text)
        case .integer(let number): return .integer(number)
        case .float(let number):
            // JSON has no inf/nan (TOML does); jansson refuses them, so they become null.
            guard number.isFinite else { return .null() }
            return .number(number)
        case .bool(let flag): return .bool(flag)
        case .array(let items):
            let array = JSON.array()
            for item in items { array.append(json(item)) }
            return array
        case .table(let members): return object(members)
        }
    }
}
