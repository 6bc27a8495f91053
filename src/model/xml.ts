import { XMLParser, type X2jOptions } from 'fast-xml-parser';

/**
 * How every XML edge format is read (décomptes, bank returns): the parser never expands anything
 * (DTDs are refused before, entities decoded by the caller), attributes go under `@`, values stay
 * text (amounts are decimal strings, never parsed to numbers), and every element is an array, so a
 * one-child element has the shape of a many-children one. `extra` adds what one format needs.
 */
export function safeXmlParser(extra: Partial<X2jOptions> = {}): XMLParser {
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    attributesGroupName: '@',
    processEntities: false,
    htmlEntities: false,
    parseAttributeValue: false,
    parseTagValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (_name: string, _path: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
    ...extra,
  });
}

/** A parsed element: its attributes, its text, its children (arrays). */
export interface XmlNode {
  '@'?: Record<string, string>;
  '#text'?: string;
  [child: string]: unknown;
}
