// Types of Plaza's JavaScript rule SDK (plaza-rules.js): contract plaza:rules@0.2.0.
// Money is integer fen; rates are parts per million.

export type Fen = number;
export type Ppm = number;

export type Stage =
  | "item_price" | "store_promotion" | "coupon" | "points" | "shipping" | "commission";
export declare const Stage: {
  readonly ItemPrice: "item_price";
  readonly StorePromotion: "store_promotion";
  readonly Coupon: "coupon";
  readonly Points: "points";
  readonly Shipping: "shipping";
  readonly Commission: "commission";
};

export type Channel =
  | "live_room" | "short_video" | "official_account" | "mini_program"
  | "search" | "community" | "private_chat" | "offline_qr";

export type Party =
  | "merchant" | "carrying_agency" | "helper_agency" | "creator"
  | "promoter_agency" | "promoter" | "livestreamer" | { upline: number };
export declare const Party: {
  readonly Merchant: "merchant";
  readonly CarryingAgency: "carrying_agency";
  readonly HelperAgency: "helper_agency";
  readonly Creator: "creator";
  readonly PromoterAgency: "promoter_agency";
  readonly Promoter: "promoter";
  readonly Livestreamer: "livestreamer";
  upline(level: 1 | 2): { upline: number };
};

export interface Line {
  readonly id: string;
  readonly sku: string;
  readonly spu: string;
  readonly merchant: string;
  readonly categories: readonly string[];
  readonly tags: readonly string[];
  readonly quantity: number;
  /** List price of one unit. */
  readonly unitPrice: Fen;
}

export interface Cart {
  /** Only the lines in the step's scope; effects name lines by their index here. */
  readonly lines: readonly Line[];
  readonly buyer: {
    readonly id: string;
    readonly memberTier: string | null;
    readonly newCustomer: boolean;
    readonly tags: readonly string[];
    /** The points the buyer may spend with this merchant. */
    readonly points: number;
  };
  readonly channel: Channel;
  readonly attribution: {
    readonly promoter: string | null;
    readonly promoterAgency: string | null;
    readonly creator: string | null;
    readonly livestreamer: string | null;
    readonly carryingAgency: string | null;
    readonly helperAgency: string | null;
    readonly shareLink: string | null;
  };
  readonly couponCodes: readonly string[];
  /** The order is a gift (送礼). */
  readonly gift: boolean;
  readonly giftRecipients: number;
  /** The request's time, milliseconds since the Unix epoch: rules have no clock. */
  readonly nowMs: number;
}

export declare class Input {
  readonly cart: Cart;
  readonly state: { readonly payable: readonly Fen[]; readonly shipping: Fen; readonly orderTotal: Fen };
  readonly step: { readonly thresholdBase: "original" | "current" };
  /** The step's configuration, JSON (already accepted by `validate`). */
  readonly config: string;
  originalOf(index: number): Fen;
  originalTotal(): Fen;
  payableTotal(): Fen;
  thresholdAmount(): Fen;
  itemCount(): number;
  hasCoupon(code: string): boolean;
}

export type Effect =
  | { line_adjustment: { line: number; discount: Fen; label: string; coupon: string | null } }
  | { order_adjustment: { discount: Fen; label: string; coupon: string | null; lines: number[] } }
  | { shipping_adjustment: { discount: Fen; label: string } }
  | { commission: { line: number; payer: Party; payee: Party; beneficiary: string;
                    share: { rate: Ppm } | { amount: Fen }; label: string } }
  | { gift: { sku: string; quantity: number; value: Fen; label: string } }
  | { points_deduction: { points: number; label: string } }
  | { note: string };

export declare const Effect: {
  lineDiscount(line: number, discount: Fen, label: string, coupon?: string | null): Effect;
  orderDiscount(discount: Fen, label: string, coupon?: string | null, lines?: number[]): Effect;
  shippingDiscount(discount: Fen, label: string): Effect;
  commissionRate(line: number, payer: Party, payee: Party, beneficiary: string, rate: Ppm, label: string): Effect;
  commissionAmount(line: number, payer: Party, payee: Party, beneficiary: string, amount: Fen, label: string): Effect;
  gift(sku: string, quantity: number, value: Fen, label: string): Effect;
  pointsDeduction(points: number, label: string): Effect;
  note(text: string): Effect;
};

/** `29900` → `"¥299.00"`. */
export declare function yuan(fen: Fen): string;
/** `amount × ppm / 1e6`, rounded down, exactly. */
export declare function rateFloor(amount: Fen, ppm: Ppm): Fen;
/** Append a line to this evaluation's log. */
export declare function log(message: string): void;

export interface RuleDefinition<Config> {
  name: string;
  version: string;
  stage: Stage;
  description: string;
  /** JSON Schema (draft 2020-12) of the configuration: checked before `validate`. */
  configSchema: object;
  /** What the schema cannot say: a refusal message, or nothing. */
  validate?(config: Config): string | undefined | void;
  /** Propose effects for one cart. Throwing fails the step with the message. */
  evaluate(config: Config, input: Input): Effect[];
}

/** `export const { describe, validate, evaluate } = rule({...})`. */
export declare function rule<Config>(definition: RuleDefinition<Config>): {
  describe(): string;
  validate(config: string): void;
  evaluate(cart: Uint8Array, step: Uint8Array): unknown;
};
