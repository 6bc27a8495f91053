/**
 * The SEPA character set (EPC "Latin" subset): a-z A-Z 0-9 / - ? : ( ) . , ' + and space. Names
 * and remittance text are transliterated to it (accents dropped: "Élodie Müller" → "Elodie Muller";
 * anything else becomes a space) and cut to the element's length, so no bank refuses the file for a
 * character it cannot carry.
 */
const LIGATURES: Record<string, string> = { ß: 'ss', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', ø: 'o', Ø: 'O', đ: 'd', Đ: 'D', ł: 'l', Ł: 'L' };

export function sepaText(text: string, max: number): string {
  const plain = text
    .replace(/[ßæÆœŒøØđĐłŁ]/g, (c) => LIGATURES[c] ?? ' ')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9/\-?:().,'+ ]/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  return plain.slice(0, max).trimEnd();
}
