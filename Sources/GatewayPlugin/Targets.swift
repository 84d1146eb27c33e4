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
        for principal in more where !principals.contains(principal) {
            principals.append(principal)
        }
    }

    /// {"principals": [...]} as a new reference for targets_out.
    func makeJSON() -> JSON {
        let object = JSON.object()
        object.set("principals", JSON.strings(principals))
        return object
    }
}
