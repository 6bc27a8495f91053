/**
 * The care categories of the seed's "Tableau de bord santé" (médecine de ville, hospitalisation,
 * pharmacie, optique, dentaire), plus hearing aids and "other", from the grid poste of each line.
 * The order is the display order.
 */
export const CATEGORIES = [
  { id: 'ville', label: 'Médecine de ville' },
  { id: 'pharmacie', label: 'Pharmacie' },
  { id: 'hospitalisation', label: 'Hospitalisation' },
  { id: 'optique', label: 'Optique' },
  { id: 'dentaire', label: 'Dentaire' },
  { id: 'audio', label: 'Aides auditives' },
  { id: 'autres', label: 'Autres' },
] as const;
export type CategoryId = (typeof CATEGORIES)[number]['id'];

export function categoryOf(poste: string | null): CategoryId {
  if (poste === null) return 'autres';
  if (poste === 'soins.medicaments') return 'pharmacie';
  const family = poste.split('.')[0];
  switch (family) {
    case 'soins':
      return 'ville';
    case 'hospi':
      return 'hospitalisation';
    case 'optique':
      return 'optique';
    case 'dentaire':
      return 'dentaire';
    case 'audio':
      return 'audio';
    default:
      return 'autres';
  }
}

export function categoryLabel(id: CategoryId): string {
  return CATEGORIES.find((c) => c.id === id)?.label ?? id;
}
