// The result of a category-targets hook: who receives the event.
import CJansson

public struct Targets: Sendable, Equatable {
    /// Principal ids (users, groups, roles as they appear in tokens). Duplicates are removed,
    /// first occurrence wins, so the host sees a stable order.
    public private(set) var principals: [String]

    public init(principals: [String]) {
        self.principals = []
        append(contentsOf: principals)
    }

    public mutating func append(contentsOf more: [String]) {
        // Small lists (the usual case) dedupe by scanning, which allocates nothing; an event that
        // lists many principals must not cost O(n²) on an event loop, so large ones use a set.
        if principals.count + more.count <= 16 {
            for principal in more where !principals.contains(principal) {
                principals.append(principal)
            }
        } else {
            var seen = Set(principals)
            for principal in more where seen.insert(principal).inserted {
                principals.append(principal)
            }
        }
    }

    /// {"principals": [...]} as a NEW reference for targets_out, built with jansson directly
    /// (no wrapper objects on the hot path). nil only when jansson is out of memory.
    func makeNewReference() -> UnsafeMutablePointer<json_t>? {
        guard let object = json_object(), let array = json_array() else { return nil }
        for principal in principals {
            let added = principal.withCString { text -> Bool in
                guard let string = json_stringn(text, principal.utf8.count) else { return false }
                return json_array_append_new(array, string) == 0
            }
            if !added {
                json_decref(array)
                json_decref(object)
                return nil
            }
        }
        guard json_object_set_new(object, "principals", array) == 0 else {
            json_decref(object)
            return nil
        }
        return object
    }
}
