import Testing

@testable import Storage

/// The comma-joined id lists of `messages.policy_ids` and the group assignments.
@Suite struct IDListTests {
    @Test(arguments: [[], ["a"], ["small_micro", "r&d_加计扣除", "x"], ["一", "二"]])
    func encodesAndDecodesBack(_ ids: [String]) throws {
        let text = try IDList.encode(ids)
        #expect(text == ids.joined(separator: ","))
        #expect(IDList.decode(text) == ids)
    }

    @Test(arguments: [[""], ["a", ""], ["a,b"], ["a", "b,"], [",", "a"]])
    func refusesAnEmptyIdOrOneWithAComma(_ ids: [String]) {
        #expect(throws: StorageError.self) { try IDList.encode(ids) }
    }
}
