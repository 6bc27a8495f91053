/**
 * The SEPA character set (EPC "Latin" subset, EPC217-08): a-z A-Z 0-9 / - ? : ( ) . , ' + and space.
 * Names and remittance text are transliterated to it so that no bank refuses the file for a
 * character it cannot carry: accents dropped ("Élodie Müller" → "Elodie Muller"), ligatures spelled
 * out, Greek and Cyrillic letters transliterated (ELOT 743 / ICAO 9303, simplified: one spelling
 * per letter), anything else (CJK, Arabic, symbols) becomes a space. A text with nothing left —
 * "李小龙" — is never written empty (the XSD's minLength 1 would refuse the whole file): the caller
 * gives a fallback, an identifier of the party.
 */
const LIGATURES: Record<string, string> = { ß: 'ss', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', ø: 'o', Ø: 'O', đ: 'd', Đ: 'D', ł: 'l', Ł: 'L', þ: 'th', Þ: 'Th', ð: 'd', Ð: 'D', ı: 'i' };

// lower case only: an upper-case letter is looked up lower-cased and its first letter capitalised
const GREEK: Record<string, string> = {
  α: 'a', β: 'v', γ: 'g', δ: 'd', ε: 'e', ζ: 'z', η: 'i', θ: 'th', ι: 'i', κ: 'k', λ: 'l', μ: 'm', ν: 'n', ξ: 'x', ο: 'o', π: 'p',
  ρ: 'r', σ: 's', ς: 's', τ: 't', υ: 'y', φ: 'f', χ: 'ch', ψ: 'ps', ω: 'o',
};
const CYRILLIC: Record<string, string> = {
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ж: 'zh', з: 'z', и: 'i', к: 'k', л: 'l', м: 'm', н: 'n', о: 'o', п: 'p', р: 'r',
  с: 's', т: 't', у: 'u', ф: 'f', х: 'kh', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'shch', ъ: 'ie', ы: 'y', ь: '', э: 'e', ю: 'iu', я: 'ia',
  і: 'i', є: 'ie', ґ: 'g', ђ: 'd', ј: 'j', љ: 'lj', њ: 'nj', ћ: 'c', џ: 'dz', ў: 'u',
};

function transliterateLetter(c: string): string {
  const lower = c.toLowerCase();
  const latin = GREEK[lower] ?? CYRILLIC[lower];
  if (latin === undefined) return ' ';
  return c === lower || latin === '' ? latin : latin[0]!.toUpperCase() + latin.slice(1);
}

/** `text` in the SEPA character set, at most `max` characters; empty only when nothing of it is left and no fallback is given. */
export function sepaText(text: string, max: number, fallback?: string): string {
  const plain = text
    .replace(/[\u2010-\u2015\u2212]/g, '-') // hyphens, en and em dashes, minus sign
    .replace(/[\u2018\u2019\u02bc]/g, "'") // typographic apostrophes
    .replace(/[ßæÆœŒøØđĐłŁþÞðÐı]/g, (c) => LIGATURES[c] ?? ' ')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[οΟ][υΥ]/g, (d) => (d[0] === 'ο' ? 'ou' : d[1] === 'Υ' ? 'OU' : 'Ou')) // ELOT 743: the digraph ου is "ou"
    .replace(/[\u0370-\u03ff\u0400-\u04ff]/g, transliterateLetter)
    .replace(/[^A-Za-z0-9/\-?:().,'+ ]/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  const cut = plain.slice(0, max).trimEnd();
  if (cut !== '' || fallback === undefined) return cut;
  return sepaText(fallback, max);
}

/** How a payee is named when its own name has nothing left in the SEPA set: `member:A001` → "Adherent A001", `ps:75123` → "PS 75123". */
export function payeeLabel(payee: string): string {
  const [kind, ...rest] = payee.split(':');
  const id = rest.join(':');
  return kind === 'member' ? `Adherent ${id}` : kind === 'ps' ? `PS ${id}` : payee;
}
