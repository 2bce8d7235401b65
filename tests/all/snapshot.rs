//! The demo quote as reviewed: any change in what Plaza answers for the demo cart (a price,
//! an explanation, a field) shows up as a diff of `snapshots/all__snapshot__demo_quote.snap`
//! to be read and accepted (`cargo insta review`), never as a silent change.

use plaza::examples;

#[test]
fn the_demo_quote_is_the_reviewed_one() {
    let plan = plaza_tests::prepare(serde_json::from_str(examples::DEMO_PLAN).unwrap());
    let quote = plaza_tests::quote(&plan, &examples::demo_cart()).unwrap();
    assert_eq!(quote.total.payable.0, 58_475, "the README's figure");
    insta::assert_json_snapshot!("demo_quote", quote);
}
